"""web_fetch and web_search against local HTTP servers: readable text, caps, and the
private-address rules (refused targets are never contacted)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from bot.errors import ToolError
from bot.tools.addresses import AddressPolicy
from bot.tools.web import WebFetcher, readable_text
from tests.bot.conftest import AppMaker
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.web import LocalSite

ARTICLE = (
    "<html><head><title>Otters</title></head><body><nav>Home | About | Shop</nav>"
    "<article><h1>Sea otters</h1><p>Sea otters hold hands while they sleep so that they do "
    "not drift apart, and they keep a favourite stone in a pouch under the arm.</p></article>"
    "<footer>Cookie settings</footer></body></html>"
)


def fetcher(networks: list[str] | None = None, **kwargs: Any) -> WebFetcher:
    return WebFetcher(
        AddressPolicy(networks or []),
        max_bytes=kwargs.pop("max_bytes", 100_000),
        timeout=kwargs.pop("timeout", 5),
        **kwargs,
    )


async def test_a_page_becomes_readable_text(site: LocalSite) -> None:
    site.page("/otters", ARTICLE)
    page = await fetcher(["127.0.0.1/32"]).fetch(site.url("/otters"))
    text = readable_text(page)
    assert text.startswith(f"URL: {site.url('/otters')}\nTitle: Otters")
    assert "hold hands while they sleep" in text
    assert "Cookie settings" not in text and "Shop" not in text


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://127.0.0.1:{port}/otters", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/otters", "localhost resolves to an address off limits: 127."),
        ("http://[::1]:{port}/otters", "::1 is the IPv6 loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}/otters", "IPv4-mapped form of 127.0.0.1"),
        ("http://[::ffff:0:7f00:1]:{port}/otters", "IPv4-translated form of 127.0.0.1"),
        ("http://[::7f00:1]:{port}/otters", "IPv4-compatible form of 127.0.0.1"),
        ("http://[2002:7f00:1::]:{port}/otters", "6to4 address of 127.0.0.1"),
        ("http://[64:ff9b::7f00:1]:{port}/otters", "NAT64 form of 127.0.0.1"),
        ("http://[64:ff9b:1::7f00:1]:{port}/otters", "local-use NAT64 address"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo address of 127.0.0.1"),
        ("http://0.0.0.0:{port}/otters", "0.0.0.0 is a 'this network' address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://192.168.0.1/", "192.168.0.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a unique local"),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fd00::1]/", "fd00::1 is a unique local address"),
        ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
        ("http://[ff02::1]/", "ff02::1 is a multicast address"),
        ("http://[::]:{port}/otters", ":: is the unspecified address"),
    ],
)
async def test_private_and_local_addresses_are_refused_by_default(
    site: LocalSite, target: str, why: str
) -> None:
    site.page("/otters", ARTICLE)
    with pytest.raises(ToolError, match="refused: ") as refused:
        await fetcher().fetch(target.format(port=site.port))
    assert why in str(refused.value)
    assert str(refused.value).endswith("special-purpose addresses are off limits.")
    assert site.hits == []


async def test_a_redirect_to_a_refused_address_is_not_followed(site: LocalSite) -> None:
    site.page("/otters", ARTICLE)
    site.redirect("/go", f"http://127.0.0.2:{site.port}/otters")
    with pytest.raises(ToolError, match="127.0.0.2 is a loopback address"):
        await fetcher(["127.0.0.1/32"]).fetch(site.url("/go"))
    assert site.hits == ["/go"]
    # An allowed redirect is followed.
    site.redirect("/ok", "/otters")
    page = await fetcher(["127.0.0.1/32"]).fetch(site.url("/ok"))
    assert page.url == site.url("/otters") and site.hits[-2:] == ["/ok", "/otters"]


async def test_a_name_is_resolved_once_and_the_checked_address_is_used(site: LocalSite) -> None:
    site.page("/otters", ARTICLE)
    answers = [["127.0.0.1"], ["10.0.0.7"]]
    asked: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), 2) - 1]

    page = await fetcher(["127.0.0.1/32"], lookup=rebinding_dns).fetch(
        f"http://rebind.test:{site.port}/otters"
    )
    assert b"Sea otters" in page.body
    assert asked == ["rebind.test"]  # no second lookup that could return 10.0.0.7


async def test_a_name_with_any_refused_address_is_refused(site: LocalSite) -> None:
    async def mixed_dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "10.0.0.7"]

    with pytest.raises(ToolError, match="mixed.test resolves to .*: 10.0.0.7 is a private"):
        await fetcher(["127.0.0.1/32"], lookup=mixed_dns).fetch(f"http://mixed.test:{site.port}/")
    assert site.hits == []


async def test_size_and_type_limits(site: LocalSite) -> None:
    site.page("/big", "word " * 100_000, content_type="text/plain")
    site.raw("/pdf", b"%PDF-1.7 binary", "application/pdf")
    site.page("/json", '{"a": 1}', content_type="application/json")
    web_fetcher = fetcher(["127.0.0.1/32"], max_bytes=20_000)
    big = await web_fetcher.fetch(site.url("/big"))
    assert big.truncated and len(big.body) == 20_000
    with pytest.raises(ToolError, match="is not a text page \\(its type is application/pdf\\)"):
        readable_text(await web_fetcher.fetch(site.url("/pdf")))
    assert readable_text(await web_fetcher.fetch(site.url("/json"))).endswith('{"a": 1}')
    with pytest.raises(ToolError, match="only http and https"):
        await web_fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ToolError, match="HTTP 404"):
        await web_fetcher.fetch(site.url("/missing"))


async def test_a_slow_page_is_given_up(site: LocalSite) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        import asyncio

        await asyncio.sleep(1.5)
        return web.Response(text="late")

    site.handlers["/slow"] = slow
    with pytest.raises(ToolError, match="did not load within 0.3 s"):
        await fetcher(["127.0.0.1/32"], timeout=0.3).fetch(site.url("/slow"))


async def test_web_fetch_through_the_agent(
    make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite
) -> None:
    site.page("/otters", ARTICLE)
    app, channel = await make_app(web_allowed_networks=["127.0.0.1"])
    fake_llm.add(Reply(tool_calls=[("web_fetch", {"url": site.url("/otters")})]))
    await app.sessions.handle(channel.inbound("what does that page say?"))
    await app.sessions.drain()
    [result] = [m["content"] for m in fake_llm.requests[1]["messages"] if m["role"] == "tool"]
    assert "hold hands while they sleep" in result
    assert result.startswith(f'<untrusted_data source="web page {site.url("/otters")}">')


async def test_web_search_is_offered_only_when_configured(
    make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite
) -> None:
    app, channel = await make_app()
    assert "web_search" not in app.tools.names
    assert "morning-briefing" not in app.agent._prompt.system_message["content"]

    def searx(request: web.Request) -> Any:
        assert request.query["format"] == "json"
        return {
            "results": [
                {"title": "Otter news", "url": "https://news.example/otters", "content": "Otters!"},
                {"title": "No url"},
            ]
        }

    site.json("/search", searx)
    app, channel = await make_app(searxng_url=site.url(""))
    assert "web_search" in app.tools.names
    assert "- morning-briefing:" in app.agent._prompt.system_message["content"]
    fake_llm.add(Reply(tool_calls=[("web_search", {"query": "otters"})]))
    await app.sessions.handle(channel.inbound("news about otters?"))
    await app.sessions.drain()
    result = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"][-1]
    assert "1. Otter news\n   https://news.example/otters\n   Otters!" in result
    assert "No url" not in result and site.hits == ["/search?q=otters&format=json"]


async def test_brave_search_sends_the_key_and_reads_its_format(
    make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite
) -> None:
    seen: list[str] = []

    def brave(request: web.Request) -> Any:
        seen.append(request.headers.get("X-Subscription-Token", ""))
        return {
            "web": {"results": [{"title": "T", "url": "https://b.example", "description": "D"}]}
        }

    site.json("/brave", brave)
    app, channel = await make_app(brave_api_key="brave-key", brave_api_url=site.url("/brave"))
    fake_llm.add(Reply(tool_calls=[("web_search", {"query": "q", "count": 3})]))
    await app.sessions.handle(channel.inbound("search"))
    await app.sessions.drain()
    assert seen == ["brave-key"]
    assert site.hits == ["/brave?q=q&count=3"]
    assert "1. T\n   https://b.example\n   D" in channel.texts()[0]


async def test_a_failing_search_service_is_reported_to_the_model(
    make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite
) -> None:
    app, channel = await make_app(searxng_url=site.url("/nothing-here"))
    fake_llm.add(Reply(tool_calls=[("web_search", {"query": "q"})]))
    await app.sessions.handle(channel.inbound("search"))
    await app.sessions.drain()
    assert "SearXNG answered HTTP 404" in channel.texts()[0]


async def test_web_fetch_refuses_ipv4_carried_in_ipv6_through_the_agent(
    make_app: AppMaker, fake_llm: FakeOpenAI, site: LocalSite
) -> None:
    """The model asks for an IP literal, then for names that resolve to such addresses:
    nothing is fetched, and the model is told why."""
    site.page("/otters", ARTICLE)
    answers = {
        "sixtofour.test": ["2002:7f00:2::"],
        "teredo.test": ["2001:0:4136:e378:8000:63bf:80ff:fffd"],
        "mixed.test": ["2606:4700:4700::1111", "::ffff:0:a9fe:a9fe"],
        "fine.test": ["127.0.0.1"],
    }

    async def dns(host: str, port: int) -> list[str]:
        return answers[host]

    app, channel = await make_app({"lookup": dns}, web_allowed_networks=["127.0.0.1/32"])
    urls = [
        f"http://[::7f00:2]:{site.port}/otters",
        f"http://sixtofour.test:{site.port}/otters",
        f"http://teredo.test:{site.port}/otters",
        f"http://mixed.test:{site.port}/otters",
        f"http://fine.test:{site.port}/otters",  # allowed on purpose: the seam works
    ]
    for url in urls:
        fake_llm.add(Reply(tool_calls=[("web_fetch", {"url": url})]))
    await app.sessions.handle(channel.inbound("read these pages"))
    await app.sessions.drain()
    results = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert len(results) == 5
    assert "refused: ::7f00:2 is an IPv4-compatible form of 127.0.0.2" in results[0]
    assert "refused: sixtofour.test resolves to an address off limits: 2002:7f00:2::" in results[1]
    assert "Teredo address of 127.0.0.2" in results[2]
    assert "::ffff:0:a9fe:a9fe is an IPv4-translated form of 169.254.169.254" in results[3]
    assert "hold hands while they sleep" in results[4]
    assert site.hits == ["/otters"]  # only the allowed fetch reached the site
