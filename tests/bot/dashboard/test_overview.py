"""The overview over HTTP: approvals waiting for the person (answered as a "yes" in the chat
would be), tasks under way, reminders and jobs coming up (cancelled as /cancel_job does)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.settings import Settings
from memory.jobs import JobRecord
from memory.people import Person
from tests.bot.conftest import wait_for_message
from tests.bot.dashboard.harness import Browser
from tests.bot.dashboard.test_tasks import start_task, status_is
from tests.bot.harness.background import once_at, poll
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

LogIn = Callable[[Person], Awaitable[Browser]]
MAKE_FILE = Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})])


@pytest.fixture
def board_settings(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> Settings:
    """The shell is on: its commands that write files wait for the person's yes."""
    return make_settings(fake_llm, sqlite_url, tmp_path / "data", shell=True)


async def ask_for_a_yes(app: App, chat: RecordingChannel, fake_llm: FakeOpenAI) -> int:
    """Olga asks for something that needs her yes; the turn waits. Returns the approval id."""
    fake_llm.add(MAKE_FILE)
    fake_llm.add(Reply(text="Made it."))
    await app.sessions.handle(chat.inbound("make a file", sender="own", chat="own"))
    question = await wait_for_message(chat, "Confirmation needed")
    return int(question.split("(#", 1)[1].split(")", 1)[0])


def made_files(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "data" / "shell").glob("*/made.txt"))


async def reminder(app: App, person: Person, text: str, at: datetime) -> JobRecord:
    conversation = await app.store.open_conversation(
        "test", person.accounts[0].external_id, "", is_direct=True, owner_id=person.id
    )
    return await app.jobs.add(person.id, conversation.id, "reminder", text, once_at(at))


async def test_logged_out_the_overview_redirects_and_its_actions_answer_401(
    app_: App, owner: Person, browser: Callable[[], Browser]
) -> None:
    job = await reminder(app_, owner, "water the plants", datetime.now(UTC) + timedelta(hours=2))
    anonymous = browser()
    page = await anonymous.get("/dashboard")
    assert (page.status, page.location) == (303, "/dashboard/welcome")
    for path in (
        "/dashboard/approvals/1/approve",
        "/dashboard/approvals/1/deny",
        f"/dashboard/jobs/{job.id}/cancel",
    ):
        assert (await anonymous.post(path)).status == 401, path
    assert [j.id for j in await app_.jobs.store.find(user_id=owner.id)] == [job.id]


async def test_an_empty_overview_says_what_to_do(
    app_: App, member: Person, logged_in: LogIn
) -> None:
    page = await (await logged_in(member)).get("/dashboard")
    assert page.status == 200
    assert "Nothing waits for your yes." in page.text
    assert "No tasks running. Ask" in page.text
    assert "No reminders or scheduled jobs." in page.text


async def test_approving_from_the_page_is_a_yes_in_the_chat(
    app_: App,
    owner: Person,
    member: Person,
    chat: RecordingChannel,
    fake_llm: FakeOpenAI,
    logged_in: LogIn,
    tmp_path: Path,
) -> None:
    approval = await ask_for_a_yes(app_, chat, fake_llm)
    olga = await logged_in(owner)
    page = await olga.get("/dashboard")
    assert "run the shell command `echo hi &gt; made.txt`" in page.text
    assert f'action="/dashboard/approvals/{approval}/approve"' in page.text
    # Max sees nothing of it and cannot answer it.
    max_ = await logged_in(member)
    assert "echo hi" not in (await max_.get("/dashboard")).text
    for verb in ("approve", "deny"):
        assert (await max_.post(f"/dashboard/approvals/{approval}/{verb}")).status == 404
    # Nor can anyone without the form token.
    for token in ("", "forged"):
        answer = await olga.post(f"/dashboard/approvals/{approval}/approve", csrf=token)
        assert answer.status == 403
    assert [a.id for a in await app_.approvals.waiting_of(owner.id)] == [approval]

    done = await olga.post(f"/dashboard/approvals/{approval}/approve")
    assert (done.status, done.location) == (303, "/dashboard")
    await app_.sessions.drain()
    [made] = made_files(tmp_path)
    assert made.read_text() == "hi\n"
    assert "Made it." in chat.texts()
    after = await olga.get("/dashboard")
    assert f"Approved #{approval}: run the shell command" in after.text
    assert "Nothing waits for your yes." in after.text
    record = await app_.approvals.record(approval)
    assert record is not None and record.status == "approved"
    [entry] = await app_.audit.entries(actions=("tool.called",))
    assert entry.detail["approval"] == "approved"
    assert entry.detail["answered_by"] == "test:own"  # as if Olga had said yes in the chat

    # Answered once; a second press says so and changes nothing.
    await olga.post(f"/dashboard/approvals/{approval}/deny")
    page = await olga.get("/dashboard")
    assert 'class="flash failed"' in page.text and "not waiting any more (approved)" in page.text


async def test_denying_from_the_page_is_a_no_in_the_chat(
    app_: App,
    owner: Person,
    chat: RecordingChannel,
    fake_llm: FakeOpenAI,
    logged_in: LogIn,
    tmp_path: Path,
) -> None:
    approval = await ask_for_a_yes(app_, chat, fake_llm)
    olga = await logged_in(owner)
    await olga.post(f"/dashboard/approvals/{approval}/deny")
    await app_.sessions.drain()
    assert made_files(tmp_path) == []
    page = await olga.get("/dashboard")
    assert f"Refused #{approval}; I won&#39;t do it." in page.text
    [entry] = await app_.audit.entries(actions=("tool.called",))
    assert (entry.detail["approval"], entry.detail["answered_by"]) == ("denied", "test:own")


async def test_jobs_show_in_the_persons_time_zone_and_cancel_as_cancel_job_does(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await app_.jobs.set_timezone(owner.id, "Asia/Tokyo")
    at = datetime(2031, 3, 4, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    mine = await reminder(app_, owner, "water the plants", at)
    theirs = await reminder(app_, member, "Max's dentist", at)
    olga = await logged_in(owner)
    page = await olga.get("/dashboard")
    assert "2031-03-04 10:30" in page.text and "Asia/Tokyo" in page.text
    assert "water the plants" in page.text and "dentist" not in page.text

    # Another person's job is not there; without the form token nothing happens.
    assert (await olga.post(f"/dashboard/jobs/{theirs.id}/cancel")).status == 404
    assert (await olga.post(f"/dashboard/jobs/{mine.id}/cancel", csrf="forged")).status == 403
    assert {j.id for j in await app_.jobs.store.find()} == {mine.id, theirs.id}

    done = await olga.post(f"/dashboard/jobs/{mine.id}/cancel")
    assert (done.status, done.location) == (303, "/dashboard")
    cancelled = await app_.jobs.store.get(mine.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    page = await olga.get("/dashboard")
    assert f"Cancelled reminder #{mine.id}." in page.text and "water the plants" not in page.text
    await olga.post(f"/dashboard/jobs/{mine.id}/cancel")
    again = await olga.get("/dashboard")
    assert f"Reminder #{mine.id} is cancelled already." in again.text


async def test_tasks_under_way_are_on_the_overview(
    app_: App, owner: Person, logged_in: LogIn, fake_llm: FakeOpenAI
) -> None:
    finish = Reply(tool_calls=[("finish", {"result": "the answer is 42"})], delay=0.2)
    fake_llm.responder = lambda request: finish
    task = await start_task(app_, owner, "find the answer")
    olga = await logged_in(owner)
    page = await olga.get("/dashboard")
    assert f"#{task.id} find the answer" in page.text
    assert f'data-status-url="/dashboard/tasks/{task.id}/status"' in page.text
    await poll(lambda: status_is(app_, task.id, "succeeded"))
    page = await olga.get("/dashboard")
    assert "No tasks running." in page.text
    assert "Finished lately" in page.text and f"#{task.id} find the answer" in page.text
