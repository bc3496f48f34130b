"""The redactor: configured secrets and token shapes out of any text, readable text kept."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.safety.redact import (
    RedactingFormatter,
    Redactor,
    mask_url,
    secrets_in,
    url_secrets,
)
from bot.settings import load_settings

TELEGRAM = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
DB_PASSWORD = "s3cr3t-Pw!"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"POST https://api.telegram.org/bot{TELEGRAM}/getMe", "https://api.telegram.org/bot"),
        (f"GET /bot{quote(TELEGRAM, safe='')}/getFile?offset=3", "/getFile?offset=3"),
        (f"bot = ExtBot[token={TELEGRAM}]", "ExtBot[token="),
        ("Authorization: Bearer xoxb-2-3-AbCdEfGhIjKlMnOp", "Authorization: Bearer"),
        ("socket url xapp-1-A0123-456-abcdef0123", "socket url"),
        ('{"api_key": "sk-proj-AbCdEfGhIjKlMnOpQrSt", "model": "m"}', '"model": "m"'),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", ""),
        ("env GITHUB ghp_abcdefghijklmnopqrstuvwxyz0123456789", "env GITHUB"),
    ],
)
def test_token_shapes_are_redacted_without_being_configured(line: str, kept: str) -> None:
    redacted = Redactor()(line)
    for secret in (
        TELEGRAM,
        quote(TELEGRAM, safe=""),
        "xoxb-2-3",
        "xapp-1",
        "sk-proj",
        "eyJzdWIi",
        "ghp_abc",
    ):
        assert secret not in redacted
    assert "<redacted>" in redacted and kept in redacted


def test_urls_keep_the_user_and_lose_password_and_secret_parameters() -> None:
    line = (
        "connect postgresql+asyncpg://clawling:pw-123@db:5432/clawling?sslmode=require "
        "then https://searx.local/search?q=cats&api_key=k-987&format=json "
        "and wss://wss.slack.test/link/?ticket=t-555&app_id=A1"
    )
    assert mask_url(line) == (
        "connect postgresql+asyncpg://clawling:***@db:5432/clawling?sslmode=require "
        "then https://searx.local/search?q=cats&api_key=***&format=json "
        "and wss://wss.slack.test/link/?ticket=***&app_id=A1"
    )


def test_a_masked_parameter_ends_before_the_sentence_goes_on() -> None:
    line = "https://llm.local/v1?key=k:98: all models failed"
    assert Redactor()(line) == "https://llm.local/v1?key=***: all models failed"


def test_configured_secrets_are_found_in_every_encoding() -> None:
    quoted = 'q"uote\\d-1234'  # JSON writes it with two escapes
    redact = Redactor(["hunter2-is-long", DB_PASSWORD, quoted])
    lines = [
        "password hunter2-is-long in plain text",
        f"a query ?p={quote(DB_PASSWORD, safe='')}",
        f"a form p={quote(DB_PASSWORD, safe='')}&q=1",
        f"in JSON {json.dumps({'nested': quoted})}",
        f"in a repr {DB_PASSWORD!r}",
    ]
    for line in lines:
        redacted = redact(line)
        assert "hunter2" not in redacted and "s3cr3t" not in redacted, redacted
        assert "uote" not in redacted, redacted
        assert "<redacted>" in redacted


def test_plain_words_numbers_and_short_values_stay_readable() -> None:
    redact = Redactor(["abc", "production-key-1234"])
    line = (
        "Calling Bot API endpoint `getUpdates` with parameters `{'timeout': 30}` at 12:34:56; "
        "prompt_tokens: 512, max_tokens=64, token budget 5000, task-abc, http://host:8080/x"
    )
    assert redact(line) == line


def test_a_traceback_is_redacted_by_the_formatter(tmp_path: Path) -> None:
    redact = Redactor([TELEGRAM])
    handler = logging.FileHandler(tmp_path / "log")
    handler.setFormatter(RedactingFormatter(logging.Formatter("%(levelname)s %(message)s"), redact))
    logger = logging.getLogger("tests.redact.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        request = httpx.Request("POST", f"https://api.telegram.org/bot{TELEGRAM}/sendMessage")
        try:
            raise httpx.HTTPStatusError(
                f"Server error for url '{request.url}'",
                request=request,
                response=httpx.Response(502),
            )
        except httpx.HTTPStatusError:
            logger.exception("send failed for %s", request.url)
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = (tmp_path / "log").read_text()
    assert TELEGRAM not in text
    assert "Traceback (most recent call last)" in text
    assert "HTTPStatusError: Server error for url 'https://api.telegram.org/bot<redacted>" in text


def test_every_secret_of_the_settings_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = {
        "gh": {
            "command": "mcp-github",
            "args": ["--token", "arg-token-1234", "--api-key=arg-key-5678", "/srv/repo"],
            "env": {
                "GITHUB_TOKEN": "env-token-abcd",
                "UPSTREAM": "a1b2c3d4e5f6a7b8c9d0",
                "NODE_ENV": "production",
            },
            "tools": ["*"],
            "scope": "shared",
        },
        "wiki": {
            "url": "https://wiki.local/mcp?key=url-key-9999",
            "headers": {"Authorization": "Bearer header-bearer-42", "X-Team": "blue-team"},
            "tools": ["*"],
            "scope": "shared",
        },
    }
    monkeypatch.setenv("CLAWLING_MCP_SERVERS", json.dumps(servers))
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key-0000")
    monkeypatch.setenv("CLAWLING_SEARXNG_URL", "https://proxy-user:proxy-pass@searx.local")
    monkeypatch.setenv("CLAWLING_DATABASE_URL", f"postgresql+asyncpg://app:{DB_PASSWORD}@db/app")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM)
    monkeypatch.setenv("CLAWLING_BRAVE_API_KEY", "brave-key-0000")
    found = secrets_in(load_settings())
    assert {
        "openai-key-0000",
        "proxy-pass",
        DB_PASSWORD,
        TELEGRAM,
        "brave-key-0000",
        "arg-token-1234",
        "arg-key-5678",
        "env-token-abcd",
        "a1b2c3d4e5f6a7b8c9d0",
        "url-key-9999",
        "Bearer header-bearer-42",
        "header-bearer-42",
        "blue-team",
    } <= found
    # Plain words and paths are not secrets, and would garble the log if replaced.
    assert not {"production", "/srv/repo", "mcp-github", "proxy-user"} & found


def test_a_password_with_an_unescaped_at_sign_counts_whole() -> None:
    assert "p@ss/word" in url_secrets("postgresql://u:p@ss/word@db/x?sslmode=require")
    assert url_secrets("https://host:8080/path") == set()
