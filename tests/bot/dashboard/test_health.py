"""The Health page: owners only; each part of the running app with what to do when it
is not well, and no secret on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from openai import AsyncOpenAI
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App
from bot.dashboard.health import BAD, OK, WARN, Health
from memory.people import Person
from memory.usage import LLMCallRecord
from tests.bot.dashboard.harness import Browser
from tests.fakes.openai_server import FakeOpenAI, Reply

HEALTH = "/dashboard/health"


async def test_only_owners_see_the_health_page(
    owner: Person,
    member: Person,
    browser: Callable[[], Browser],
    logged_in: Callable[[Person], Awaitable[Browser]],
) -> None:
    assert (await browser().get(HEALTH)).location == "/dashboard/welcome"
    refused = await (await logged_in(member)).get(HEALTH)
    assert refused.status == 403 and "owners can open this page" in refused.text
    assert (
        'href="/dashboard/health"' not in (await (await logged_in(member)).get("/dashboard")).text
    )
    assert 'href="/dashboard/health"' in (await (await logged_in(owner)).get("/dashboard")).text


async def test_a_healthy_app_says_so_part_by_part(
    app_: App, owner: Person, logged_in: Callable[[Person], Awaitable[Browser]]
) -> None:
    page = await (await logged_in(owner)).get(HEALTH)
    assert page.status == 200
    text = page.text
    assert "All is well." in text
    assert "Running (it does not report a connection)." in text  # the test channel
    assert "SQLite at sqlite" in text and "Reachable." in text
    assert "the code&#39;s newest" in text  # (escaped, as HTML has it)
    assert "answered in" in text and "Models: fake-model" in text
    assert "Turns answering now: 0; waiting for a free slot: 0." in text
    assert "Background tasks running: 0; queued: 0." in text
    assert "Failed model calls: 0 of 0." in text
    assert "This process runs the scheduler and the tasks." in text
    assert "test-key" not in text


async def test_failed_calls_of_the_last_hour_are_counted_with_the_latest_error(
    app_: App, owner: Person, logged_in: Callable[[Person], Awaitable[Browser]]
) -> None:
    usage = app_.usage
    await usage.record_llm_call(LLMCallRecord("chat", "fake-model", ok=True))
    await usage.record_llm_call(
        LLMCallRecord("chat", "fake-model", ok=False, error="first: the server answered 500")
    )
    await usage.record_llm_call(
        LLMCallRecord("chat", "fake-model", ok=False, error="rate limit: 429 from the server")
    )
    page = await (await logged_in(owner)).get(HEALTH)
    assert "Failed model calls: 2 of 3." in page.text
    assert "Latest (fake-model): rate limit: 429 from the server" in page.text
    assert "first: the server" not in page.text
    assert "Working, with 1 thing to look at:" in page.text and "Errors, last hour" in page.text


async def test_a_model_endpoint_that_fails_is_named_with_its_fix(
    app_: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(status=401))
    health = _health(app_, app_.client)
    [model] = [s for s in await health.report() if s.name == "Model endpoint"]
    assert model.state == BAD and model.fix
    # Asked at most once a minute: the next view shows the same answer, not a new request.
    asked = len(fake_llm.requests)
    [again] = [s for s in await health.report() if s.name == "Model endpoint"]
    assert again.found[0] == model.found[0] and len(fake_llm.requests) == asked


async def test_an_unreachable_database_and_model_server_are_reported_quickly(
    app_: App,
) -> None:
    # Nothing listens on port 9 of this machine.
    engine = create_async_engine("postgresql+asyncpg://clawling:secret@127.0.0.1:9/nowhere")
    client = AsyncOpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    settings = app_.settings.model_copy(deep=True)
    settings.clawling.database_url = "postgresql://clawling:secret@127.0.0.1:9/nowhere"
    health = Health(
        settings,
        engine,
        app_.outbox,
        app_.sessions,
        client,
        app_.background.store,
        lambda: False,
        lambda: datetime.now(UTC),
    )
    started = datetime.now(UTC)
    try:
        report = {s.name: s for s in await health.report()}
    finally:
        await engine.dispose()
        await client.close()
    assert (datetime.now(UTC) - started).total_seconds() < 9
    database = report["Database"]
    assert database.state == BAD and "Unreachable" in database.found[1]
    assert "secret" not in " ".join(database.found) and "CLAWLING_DATABASE_URL" in database.fix
    assert report["Migrations"].state == WARN
    assert report["Model endpoint"].state == BAD
    assert (
        report["Background leader"].state == WARN and "restart" in report["Background leader"].fix
    )
    assert report["Test"].state == OK


def _health(app: App, client: AsyncOpenAI) -> Health:
    return Health(
        app.settings,
        app.engine,
        app.outbox,
        app.sessions,
        client,
        app.background.store,
        lambda: True,
        lambda: datetime.now(UTC),
    )
