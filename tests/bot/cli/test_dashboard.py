"""`clawling dashboard link --user USER`: the URL alone on the last line, working once,
audited; unknown and blocked people get no link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from bot.app import build_app
from bot.cli.main import cli
from bot.settings import load_settings
from tests.bot.cli.people import chat, set_environment
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def run(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeOpenAI
) -> CliRunner:
    set_environment(monkeypatch, fake_llm, database_url, tmp_path)
    monkeypatch.setenv("CLAWLING_PUBLIC_URL", "https://bot.example.org")
    return CliRunner()


async def _log_in_with(link: str) -> tuple[int, int]:
    """Serve the dashboard and press the link's button twice: the two answers' statuses."""
    app = build_app(load_settings())
    await app.prepare_database()
    await app.start()
    token = link.split("token=", 1)[1]
    base = f"http://127.0.0.1:{app.http.port}/dashboard/login"
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(base, params={"token": token}) as page:
                nonce = (await page.text()).split('name="nonce" value="')[1].split('"')[0]
            statuses = []
            for _ in range(2):
                form, pressed = {"token": token, "nonce": nonce}, {"clawling_login": nonce}
                # The confirm page's cookie is Secure (https public URL): sent by hand.
                async with http.post(base, data=form, cookies=pressed, allow_redirects=False) as r:
                    statuses.append(r.status)
    finally:
        await app.close()
    return statuses[0], statuses[1]


def test_prints_a_link_that_logs_in_once(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAWLING_HTTP_PORT", "0")
    result = run.invoke(cli, ["dashboard", "link", "--user", "telegram:1"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://bot.example.org/dashboard/login?token=")
    assert "once, for 10 minutes" in result.output
    assert asyncio.run(_log_in_with(link)) == (303, 410)
    audit = run.invoke(cli, ["audit", "--json"])
    assert '"dashboard.link"' in audit.output and '"telegram:1"' in audit.output


def test_unknown_and_blocked_people_get_no_link(run: CliRunner) -> None:
    unknown = run.invoke(cli, ["dashboard", "link", "--user", "telegram:99"])
    assert unknown.exit_code == 2 and "Nobody has the account telegram:99" in unknown.output
    chat("7", "Max", "hello")  # telegram:7 is on the allowlist: a member from now on
    assert run.invoke(cli, ["users", "block", "telegram:7"]).exit_code == 0
    blocked = run.invoke(cli, ["dashboard", "link", "--user", "telegram:7"])
    assert blocked.exit_code == 1 and "blocked" in blocked.output
    assert "token=" not in blocked.output
