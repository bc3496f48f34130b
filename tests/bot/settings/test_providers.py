"""The provider table `clawling init` offers, and the README's copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import OpenAISettings
from bot.settings.core import OPENAI_DEFAULT_BASE_URL, CoreSettings
from bot.settings.providers import BY_NAME, LOCAL_PLACES, PROVIDERS, Provider

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_rows() -> dict[str, str]:
    """The rows of the README's "Model providers" table, by `--provider` name."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Model providers", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        for provider in PROVIDERS:
            if line.startswith("| ") and f"(`{provider.name}`)" in line.split("|")[1]:
                rows[provider.name] = line
    return rows


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_the_readme_shows_each_providers_defaults(provider: Provider) -> None:
    row = readme_rows()[provider.name]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    if provider.base_url:
        assert cells[1] == f"`{provider.base_url}`"
    if provider.model:
        assert cells[2] == f"`{provider.model}`"
    assert (cells[3] == "your key") == provider.needs_key


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_each_default_is_a_valid_setting(provider: Provider) -> None:
    if provider.base_url:
        assert OpenAISettings(base_url=provider.base_url).base_url == provider.base_url
    assert provider.needs_key == bool(provider.key_page)
    assert not provider.local or not provider.needs_key


def test_openai_is_the_settings_default_and_local_places_name_providers() -> None:
    assert BY_NAME["openai"].base_url == OPENAI_DEFAULT_BASE_URL
    assert BY_NAME["openai"].model == CoreSettings().model
    assert {place.provider for place in LOCAL_PLACES} <= set(BY_NAME)
    assert [p.name for p in PROVIDERS if not p.needs_key] == ["ollama", "vllm", "custom"]
