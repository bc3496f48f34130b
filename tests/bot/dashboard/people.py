"""What the Usage and People tests share: an app whose test channel opens private chats
(so pairing's messages are delivered), a stranger asking to be let in, and usage spread
over past days."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.app import App, build_app
from bot.chat.channels import ChatRef
from bot.settings import Settings
from memory.db.models import LLMCall
from memory.pairing import Stranger
from memory.people import Person
from memory.usage import LLMCallRecord
from tests.bot.dashboard.harness import Browser
from tests.fakes.chat import RecordingChannel

_FLASH = re.compile(r'<p class="flash( failed)?" role="status">(.*?)</p>', re.S)


class PrivateChats(RecordingChannel):
    """A test channel that can open a private chat with an account, as Telegram and Slack
    can: the stranger's answer and the owners' question are delivered there."""

    async def direct_chat(self, account_id: str) -> ChatRef:
        return ChatRef(self.name, account_id, "")


async def started_with_private_chats(settings: Settings) -> tuple[App, RecordingChannel]:
    app = build_app(settings)
    await app.prepare_database()
    channel = PrivateChats()
    app.add_channel(channel)
    await app.start()
    return app, channel


async def stranger_writes(app: App, chat: RecordingChannel, who: str) -> str:
    """A stranger writes privately; the code of their request.

    The test channel admits everyone (it has no allowlist, bot/people/doorman.py), so the
    request is made by the call the doorman makes for a stranger on Telegram or Slack."""
    reply = await app.door.pairing.request(Stranger(chat.name, who, who.title(), None, who))
    (request,) = [r for r in await app.door.pairing.pending() if r.stranger.external_id == who]
    assert request.code in reply
    return request.code


async def used_at(
    app: App, person: Person, at: datetime, prompt: int, cached: int, output: int
) -> None:
    """A model call of the person's, recorded as if made at `at`."""
    await app.usage.record_llm_call(
        LLMCallRecord("turn", "fake-model", True, prompt, output, cached, user_id=person.id)
    )
    async with app.engine.begin() as connection:
        newest = (await connection.execute(select(LLMCall.id).order_by(LLMCall.id.desc()))).first()
        assert newest is not None
        await connection.execute(
            update(LLMCall).where(LLMCall.id == newest[0]).values(created_at=at)
        )


async def a_month_of_use(app: App, person: Person) -> None:
    """Use on most of the last 30 days, busier on weekdays, today included."""
    assert app.dashboard is not None
    now = app.dashboard.parts.now()
    for back in range(30):
        if back % 6 == 5:
            continue  # a quiet day now and then
        at = now - timedelta(days=back)
        weight = 1 + (back * 7) % 5
        await used_at(app, person, at, 2_000 * weight, 700 * weight, 350 * weight + back * 10)


async def said(browser: Browser, path: str, data: dict[str, str] | None = None) -> tuple[str, bool]:
    """Press a button: the line the next page shows, and whether it says it failed."""
    answer = await browser.post(path, data)
    assert answer.status == 303, (answer.status, answer.text)
    found = _FLASH.search((await browser.get(answer.location)).text)
    assert found, f"no message after {path}"
    return html.unescape(found[2]), bool(found[1])
