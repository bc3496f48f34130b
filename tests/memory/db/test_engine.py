"""Database URLs as messages show them: never the password, whatever the URL."""

from __future__ import annotations

import pytest

from memory import db


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://app:pw-hunter2@db/app", "postgresql+asyncpg://app:***@db/app"),
        (
            "postgresql+psycopg://app@db/app?sslmode=require&password=pw-hunter2",
            "postgresql+psycopg://app@db/app?password=***&sslmode=require",
        ),
        # Unparseable, or an unescaped @ that a parser reads as part of the host.
        (
            "postgresql+asyncpg://app:pw-hunter2@db:notaport/app",
            "postgresql+asyncpg://app:***@db:notaport/app",
        ),
        ("postgresql+asyncpg://app:pw@hunter2@db/app", "postgresql+asyncpg://app:***@db/app"),
        ("sqlite:///data/clawling.db", "sqlite:///data/clawling.db"),
    ],
)
def test_safe_url_hides_the_password_of_any_url(url: str, shown: str) -> None:
    assert db.safe_url(url) == shown


def test_an_unparseable_url_is_a_database_error_without_the_url() -> None:
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.create_engine("postgresql+asyncpg://app:pw-hunter2@db:notaport/app")
    assert "hunter2" not in str(caught.value) and "cannot be read" in str(caught.value)
