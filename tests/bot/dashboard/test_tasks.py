"""The Tasks pages over HTTP: the person's own tasks only, the event log, the live status
endpoint, and Pause / Resume / Cancel / Answer doing exactly what the chat commands do."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from bot.app import App
from memory.people import Person
from memory.tasks import CANCELLED, PAUSED, QUEUED, RUNNING, WAITING, TaskRecord
from tests.bot.dashboard.harness import Browser
from tests.bot.harness.background import counting_to, poll
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

LogIn = Callable[[Person], Awaitable[Browser]]


async def start_task(app: App, person: Person, goal: str) -> TaskRecord:
    """A task of the person's, started in their private chat (as /task does)."""
    user = await app.store.get_user(person.id)
    assert user is not None
    chat = person.accounts[0].external_id
    conversation = await app.store.open_conversation(
        "test", chat, "", is_direct=True, owner_id=person.id
    )
    return await app.tasks.start(user, conversation, goal)


async def status_of(app: App, task_id: int) -> str:
    task = await app.background.store.get(task_id)
    assert task is not None
    return task.status


async def running(app: App, task_id: int) -> None:
    await poll(lambda: status_is(app, task_id, RUNNING))


async def status_is(app: App, task_id: int, status: str) -> bool:
    return await status_of(app, task_id) == status


@pytest.fixture(autouse=True)
def endless(fake_llm: FakeOpenAI) -> None:
    """Tasks keep running (one slow step after another) until someone stops them."""
    fake_llm.responder = counting_to(10_000, delay=0.1)


async def test_logged_out_pages_redirect_and_actions_answer_401(
    app_: App, owner: Person, browser: Callable[[], Browser]
) -> None:
    task = await start_task(app_, owner, "count sheep")
    anonymous = browser()
    for path in (
        "/dashboard/tasks",
        f"/dashboard/tasks/{task.id}",
        f"/dashboard/tasks/{task.id}/status",
    ):
        page = await anonymous.get(path)
        assert (page.status, page.location) == (303, "/dashboard/welcome"), path
    for verb in ("pause", "resume", "cancel", "answer"):
        answer = await anonymous.post(f"/dashboard/tasks/{task.id}/{verb}", {"answer": "x"})
        assert answer.status == 401, verb
    assert await status_of(app_, task.id) in (QUEUED, RUNNING)


async def test_the_list_and_a_task_page_show_the_persons_own_tasks(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    mine = await start_task(app_, owner, "count sheep")
    theirs = await start_task(app_, member, "Max's secret plan")
    await running(app_, mine.id)
    await poll(lambda: _has_events(app_, mine.id, "step"))
    olga = await logged_in(owner)

    listing = await olga.get("/dashboard/tasks")
    assert listing.status == 200
    assert f"#{mine.id} count sheep" in listing.text
    assert "secret plan" not in listing.text
    assert f'data-status-url="/dashboard/tasks/{mine.id}/status"' in listing.text

    page = await olga.get(f"/dashboard/tasks/{mine.id}")
    assert page.status == 200
    assert "Event log" in page.text and "<td>created</td>" in page.text
    assert "<td>started</td>" in page.text and "<td>step</td>" in page.text

    status = await olga.get(f"/dashboard/tasks/{mine.id}/status")
    state = json.loads(status.text)
    assert state["id"] == mine.id and state["status"] == RUNNING and not state["finished"]
    assert state["events"] == []  # only the task page's log asks for events
    first = json.loads((await olga.get(f"/dashboard/tasks/{mine.id}/status?after=0")).text)
    kinds = [event["kind"] for event in first["events"]]
    assert kinds[:2] == ["created", "started"]
    last = first["events"][-1]["id"]
    later = json.loads((await olga.get(f"/dashboard/tasks/{mine.id}/status?after={last}")).text)
    assert all(event["id"] > last for event in later["events"])

    # Another person's task is not there, on every route that takes its id.
    for path in (f"/dashboard/tasks/{theirs.id}", f"/dashboard/tasks/{theirs.id}/status"):
        assert (await olga.get(path)).status == 404, path
    assert (await olga.get("/dashboard/tasks/99999")).status == 404


async def _has_events(app: App, task_id: int, kind: str) -> bool:
    return any(e.kind == kind for e in await app.background.store.events(task_id, limit=50))


async def test_pause_resume_and_cancel_say_and_do_what_the_commands_do(
    app_: App, owner: Person, logged_in: LogIn, chat: RecordingChannel
) -> None:
    task = await start_task(app_, owner, "count sheep")
    await running(app_, task.id)
    olga = await logged_in(owner)
    base = f"/dashboard/tasks/{task.id}"

    paused = await olga.post(f"{base}/pause", {"back": "task"})
    assert (paused.status, paused.location) == (303, base)
    assert await status_of(app_, task.id) == PAUSED
    page = await olga.get(base)
    assert f"Task #{task.id} is paused at step" in page.text
    assert "<td>paused</td>" in page.text

    # The page's refusal is the command's: a paused task cannot be paused again.
    again = await olga.post(f"{base}/pause", {"back": "tasks"})
    assert again.location == "/dashboard/tasks"
    refused = await olga.get("/dashboard/tasks")
    assert 'class="flash failed"' in refused.text
    assert f"Task #{task.id} is paused, so it cannot be paused." in refused.text

    await olga.post(f"{base}/resume", {"back": "overview"})
    assert await status_of(app_, task.id) in (QUEUED, RUNNING)
    assert f"Task #{task.id} continues from step" in (await olga.get("/dashboard")).text

    await olga.post(f"{base}/cancel")
    assert await status_of(app_, task.id) == CANCELLED
    page = await olga.get(base)
    assert f"Cancelling task #{task.id}." in page.text
    assert "data-status-url" not in page.text  # nothing left to watch
    kinds = [e.kind for e in await app_.background.store.events(task.id, limit=50)]
    assert ["paused", "resumed", "cancelled"] == [
        k for k in kinds if k in {"paused", "resumed", "cancelled"}
    ]
    # The chat hears of it exactly as after /cancel.
    await poll(lambda: f"🛑 Task #{task.id} was cancelled." in chat.texts())


async def test_another_persons_task_cannot_be_touched(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    theirs = await start_task(app_, owner, "Olga's task")
    await running(app_, theirs.id)
    max_ = await logged_in(member)
    for verb in ("pause", "cancel", "resume", "answer"):
        answer = await max_.post(f"/dashboard/tasks/{theirs.id}/{verb}", {"answer": "no"})
        assert answer.status == 404, verb
    assert await status_of(app_, theirs.id) == RUNNING
    kinds = [e.kind for e in await app_.background.store.events(theirs.id, limit=50)]
    assert not {"paused", "cancelled", "answered"} & set(kinds)


async def test_actions_need_the_form_token(app_: App, owner: Person, logged_in: LogIn) -> None:
    task = await start_task(app_, owner, "count sheep")
    await running(app_, task.id)
    olga = await logged_in(owner)
    for token in ("", "forged"):
        for verb in ("pause", "cancel"):
            answer = await olga.post(f"/dashboard/tasks/{task.id}/{verb}", csrf=token)
            assert answer.status == 403, (verb, token)
    assert await status_of(app_, task.id) == RUNNING


async def test_a_waiting_task_is_answered_from_the_page(
    app_: App, owner: Person, logged_in: LogIn, fake_llm: FakeOpenAI
) -> None:
    def asks(request: dict[str, object]) -> Reply:
        answered = "blue" in json.dumps(request)
        if answered:
            return Reply(tool_calls=[("finish", {"result": "blue it is"})])
        return Reply(tool_calls=[("ask_user", {"question": "Which colour?"})])

    fake_llm.responder = asks
    task = await start_task(app_, owner, "paint the fence")
    await poll(lambda: status_is(app_, task.id, WAITING))
    olga = await logged_in(owner)
    page = await olga.get(f"/dashboard/tasks/{task.id}")
    assert "Which colour?" in page.text and "waiting for you" in page.text

    empty = await olga.post(f"/dashboard/tasks/{task.id}/answer", {"answer": "  "})
    assert empty.status == 303
    assert await status_of(app_, task.id) == WAITING
    assert "Write your answer first." in (await olga.get(f"/dashboard/tasks/{task.id}")).text

    await olga.post(f"/dashboard/tasks/{task.id}/answer", {"answer": "blue"})
    assert (
        f"Thanks, task #{task.id} continues with your answer."
        in (await olga.get(f"/dashboard/tasks/{task.id}")).text
    )
    await poll(lambda: status_is(app_, task.id, "succeeded"))
    done = await olga.get(f"/dashboard/tasks/{task.id}")
    assert "blue it is" in done.text and "<td>answered</td>" in done.text


async def test_the_list_is_paged_newest_first(app_: App, owner: Person, logged_in: LogIn) -> None:
    made = [await start_task(app_, owner, f"job number {n}") for n in range(23)]
    for task in made:  # keep the runner out of it: only the listing matters here
        await app_.tasks.cancel(owner.id, task.id)
    olga = await logged_in(owner)
    first = await olga.get("/dashboard/tasks")
    assert first.text.index("job number 22") < first.text.index("job number 3")
    assert "job number 2</a>" not in first.text
    assert f'href="/dashboard/tasks?before={made[3].id}"' in first.text
    second = await olga.get(f"/dashboard/tasks?before={made[3].id}")
    assert "job number 2</a>" in second.text and "job number 0</a>" in second.text
    assert "job number 3</a>" not in second.text and "Older tasks" not in second.text
