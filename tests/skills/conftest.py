"""The bundled-skill runs use the same app factory as the bot tests; each test file
compiles the scanner's rules afresh instead of reusing what an earlier run cached."""

from collections.abc import Iterator

import pytest

from skills.scan import reload_rules
from tests.bot.conftest import make_app

__all__ = ["make_app"]


@pytest.fixture(autouse=True, scope="module")
def fresh_scanner_rules() -> Iterator[None]:
    reload_rules()
    yield
