"""Memories and conversations in a real browser (headless chromium): forget a memory and
see it gone, search, edit, forget everything, read a conversation; screenshots of each
page."""

from __future__ import annotations

from playwright.async_api import Dialog
from playwright.async_api import Page as BrowserPage

from bot.app import App
from memory.people import Person
from tests.bot.dashboard.harness import Screens
from tests.bot.harness.memory import say
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

FACTS = (
    ("Lives in Porto, near the river", "home city"),
    ("Prefers short answers in the morning", ""),
    ("Daughter Ana starts school in September", "daughter"),
    ("Allergic to peanuts", ""),
    ("Plays the cello on Sundays with a quartet", ""),
)


async def _log_in(app: App, page: BrowserPage, person: Person) -> None:
    assert app.dashboard is not None
    await page.goto(await app.dashboard.access.link(person.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")


async def test_forget_a_memory_and_search(
    app_: App, owner: Person, page: BrowserPage, screens: Screens
) -> None:
    saved = [
        (await app_.memory.memories.remember(owner.id, text, key=key)).memory for text, key in FACTS
    ]
    await app_.memory.memories.remember(owner.id, "Lives in Lisbon", key="home city")
    await _log_in(app_, page, owner)
    await page.get_by_role("link", name="Memories").click()
    await page.wait_for_url("**/dashboard/memories")
    assert await page.get_by_text("Allergic to peanuts").is_visible()
    await screens.shoot(page, "memories")

    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    peanuts = saved[3]
    await page.get_by_role("button", name=f"Forget memory #{peanuts.id}").click()
    await page.wait_for_load_state()
    assert asked == ["Forget this memory?"]
    assert (
        await page.get_by_role("status").inner_text()
        == f"Forgotten: #{peanuts.id} Allergic to peanuts"
    )
    assert await page.locator(f"#memory-{peanuts.id}").count() == 0
    assert await app_.memory.memories.get(owner.id, peanuts.id) is None

    await page.get_by_label("Search your memories").fill("cello")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard/memories?q=cello")
    assert await page.locator("li.memory").count() == 1
    assert await page.get_by_text("Plays the cello on Sundays").is_visible()
    await screens.shoot(page, "memories-search")

    lisbon = (await app_.memory.memories.current(owner.id, limit=1))[0]
    await page.goto(f"http://localhost:{app_.http.port}/dashboard/memories/{lisbon.id}/edit")
    await page.get_by_label("What Clawling should remember").fill("Lives in Lisbon, Alfama")
    await screens.shoot(page, "memory-edit")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url("**/dashboard/memories")
    assert await page.get_by_text("Lives in Lisbon, Alfama").is_visible()

    await page.get_by_role("link", name="Forget everything…").click()
    await screens.shoot(page, "forget-everything")
    await page.get_by_label("To confirm, type yes").fill("yes")
    await page.get_by_role("button", name="Delete everything").click()
    await page.wait_for_url("**/dashboard/forgotten")
    assert await page.get_by_text("has been deleted").is_visible()
    assert await app_.memory.memories.count_current(owner.id) == 0
    await screens.shoot(page, "forgotten")
    await page.goto(f"http://localhost:{app_.http.port}/dashboard/memories")
    assert page.url.endswith("/dashboard/welcome")  # logged out


async def test_read_and_search_conversations(
    app_: App,
    chat: RecordingChannel,
    fake_llm: FakeOpenAI,
    owner: Person,
    page: BrowserPage,
    screens: Screens,
) -> None:
    talk = (
        (
            "Can you remind me what we decided about the garden?",
            "You chose tomatoes and basil "
            "for the sunny bed, and to leave the shady corner for ferns.",
        ),
        ("And when should I plant the tomatoes?", "After the last frost: around mid-May here."),
        ("Thanks! Also, the plumber comes Thursday at 9.", "Noted: the plumber, Thursday 9:00."),
    )
    for question, answer in talk:
        fake_llm.add(Reply(answer))
        await say(app_, chat, question, sender="own", chat="own")
    fake_llm.add(Reply("The quiz night is at the Crown, 8 pm."))
    await say(app_, chat, "when is the quiz night?", sender="own", chat="pub", direct=False)
    await _log_in(app_, page, owner)
    await page.get_by_role("link", name="Conversations").click()
    await page.wait_for_url("**/dashboard/conversations")
    assert await page.locator("tbody tr").count() == 2
    await screens.shoot(page, "conversations")

    await page.get_by_role("link", name="Private chat").click()
    assert await page.get_by_text("After the last frost").is_visible()
    await screens.shoot(page, "conversation")
    await page.emulate_media(color_scheme="dark")
    await screens.shoot(page, "conversation-dark")
    await page.emulate_media(color_scheme="light")

    await page.goto(f"http://localhost:{app_.http.port}/dashboard/conversations")
    await page.get_by_label("Search your conversations").fill("plumber")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard/conversations?q=plumber")
    hits = page.locator("ol.lines li, ul.lines li")
    assert await hits.count() >= 1
    assert "plumber" in (await hits.first.inner_text()).lower()
    await screens.shoot(page, "conversations-search")
    await hits.first.get_by_role("link").click()
    await page.wait_for_url("**/dashboard/conversations/*")
    assert await page.locator(".line:target").count() == 1
