"""The bot token goes only to Slack's file hosts and the configured API origin, never to a
host a file link or a redirect names: a stranger's server must never see it."""

from __future__ import annotations

import pytest
from aiohttp import web
from yarl import URL

from adapters.slack.events import SlackFile
from adapters.slack.files import FileFetcher, token_may_go_to
from tests.adapters.slack.harness import Harness, dm
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.fakes.web import LocalSite

API = URL("http://127.0.0.1:8123/api/")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.txt", True),
        ("https://FILES.SLACK.COM/files-pri/T1-F1/a.txt", True),
        ("https://files.slack.com:443/files-pri/T1-F1/a.txt", True),
        ("https://files.slack-gov.com/files-pri/T1-F1/a.txt", True),
        ("http://127.0.0.1:8123/files/a.txt", True),  # the API's origin
        ("http://files.slack.com/files-pri/T1-F1/a.txt", False),  # plain HTTP
        ("https://files.slack.com:8443/files-pri/a.txt", False),
        ("https://files.slack.com.evil.example/a.txt", False),
        ("https://evil.example/files.slack.com/a.txt", False),
        ("https://files.slack.com@evil.example/a.txt", False),
        ("https://x.files.slack.com/a.txt", False),
        ("https://evilfiles.slack.com/a.txt", False),
        ("https://slack.com/files/a.txt", False),  # not the configured API here
        ("https://drive.google.com/file/d/1", False),  # a remote file's url_private
        ("http://127.0.0.1:8124/files/a.txt", False),  # same host, other port
        ("https://127.0.0.1:8123/files/a.txt", False),  # same host, other scheme
        ("http://localhost:8123/files/a.txt", False),
        ("/files/a.txt", False),
        ("", False),
    ],
)
def test_where_the_token_may_go(url: str, allowed: bool) -> None:
    assert token_may_go_to(URL(url), API) is allowed


def test_the_default_api_origin_is_slack() -> None:
    default = URL("https://slack.com/api/")
    assert token_may_go_to(URL("https://slack.com/x"), default)
    assert not token_may_go_to(URL("http://slack.com/x"), default)
    assert not token_may_go_to(URL("https://api.slack.com/x"), default)


@pytest.fixture
async def stranger(site: LocalSite) -> LocalSite:
    """Another server on 127.0.0.1 that records every Authorization header it receives."""
    site.auth = []  # type: ignore[attr-defined]

    async def record(request: web.Request) -> web.StreamResponse:
        site.auth.append(request.headers.get("Authorization"))  # type: ignore[attr-defined]
        return web.Response(text="stolen", content_type="text/plain")

    site.handlers["/grab.txt"] = record
    return site


def _file(name: str, url: str) -> SlackFile:
    return SlackFile("F1", name, "text/plain", 10, url)


async def _fetch(fake_slack: FakeSlack, *items: SlackFile) -> list[str]:
    fetcher = FileFetcher(BOT_TOKEN, api_url=fake_slack.api_url)
    try:
        return [a.note or a.data.decode() for a in await fetcher.fetch(items)]
    finally:
        await fetcher.close()


async def test_a_link_to_another_host_is_not_requested(
    fake_slack: FakeSlack, stranger: LocalSite
) -> None:
    fake_slack.host_file("notes.txt", b"buy milk", "text/plain")
    notes = await _fetch(
        fake_slack,
        _file("notes.txt", f"{fake_slack.url}/files/notes.txt?download=1"),
        _file("grab.txt", stranger.url("/grab.txt")),
        _file("grab.txt", stranger.url("/grab.txt", host="localhost")),
        _file("bad.txt", "not a url"),
        _file("bad.txt", "http://[::1"),
    )
    assert notes == ["buy milk"] + ["could not be downloaded"] * 4
    assert stranger.hits == []


async def test_a_redirect_off_slack_is_not_followed(
    fake_slack: FakeSlack, stranger: LocalSite
) -> None:
    fake_slack.host_file("notes.txt", b"buy milk", "text/plain")
    fake_slack.file_redirects["moved.txt"] = "/files/notes.txt"  # same origin: followed
    fake_slack.file_redirects["away.txt"] = stranger.url("/grab.txt")
    fake_slack.file_redirects["away-host.txt"] = stranger.url("/grab.txt", host="localhost")
    fake_slack.file_redirects["loop.txt"] = "/files/loop.txt"
    notes = await _fetch(
        fake_slack,
        _file("moved.txt", f"{fake_slack.url}/files/moved.txt"),
        _file("away.txt", f"{fake_slack.url}/files/away.txt"),
        _file("away-host.txt", f"{fake_slack.url}/files/away-host.txt"),
        _file("loop.txt", f"{fake_slack.url}/files/loop.txt"),
    )
    assert notes == ["buy milk"] + ["could not be downloaded"] * 3
    assert stranger.hits == []


async def test_shared_files_pointing_elsewhere_never_carry_the_token(
    slack: Harness, fake_llm: FakeOpenAI, stranger: LocalSite
) -> None:
    """Through the whole app, in each mode: the stranger is never asked, the Slack file is read."""
    own = slack.fake.host_file("plan.txt", b"the plan: milk", "text/plain")
    slack.fake.file_redirects["moved.txt"] = stranger.url("/grab.txt")
    elsewhere = {**own, "id": "F2", "name": "grab.txt", "url_private_download": None}
    elsewhere["url_private"] = stranger.url("/grab.txt")
    redirected = {**own, "id": "F3", "name": "moved.txt"}
    redirected["url_private_download"] = f"{slack.fake.url}/files/moved.txt"
    files = [own, elsewhere, redirected]
    await slack.deliver(dm("what's in these?", subtype="file_share", files=files))
    await slack.settle()
    prompt = repr(fake_llm.requests[-1]["messages"])
    assert "the plan: milk" in prompt and "stolen" not in prompt
    assert prompt.count("could not be downloaded") == 2
    assert stranger.hits == [] and stranger.auth == []  # type: ignore[attr-defined]


def test_a_retry_after_header_of_any_shape_gives_a_bounded_wait() -> None:
    from adapters.slack.files import MAX_RETRY_AFTER, _retry_after

    assert _retry_after("2") == 2.0
    assert _retry_after(None) == 1.0
    assert _retry_after("soon") == 1.0
    assert _retry_after("-5") == 0.0
    assert _retry_after("86400") == MAX_RETRY_AFTER
