"""Every page an owner can open without an id: one heading, a language, and a label on
every control (a <label>, an aria-label, or a button's own text), checked in the HTML as
a screen reader would meet it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html.parser import HTMLParser

from bot.app import App
from memory.people import Person
from tests.bot.dashboard.harness import Browser

CONTROLS = {"input", "select", "textarea"}


class Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labelled_ids: set[str] = set()
        self.inside_label = 0
        self.unlabelled: list[str] = []
        self.headings = 0
        self.lang = ""
        self._button: dict[str, str | None] | None = None
        self._button_text = ""
        self._pending: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang") or ""
        elif tag == "h1":
            self.headings += 1
        elif tag == "label":
            self.inside_label += 1
            if found.get("for"):
                self.labelled_ids.add(str(found["for"]))
        elif tag in CONTROLS and found.get("type") != "hidden":
            named = found.get("aria-label") or found.get("aria-labelledby") or found.get("title")
            if not named and not self.inside_label:
                self._pending.append((tag, found))
        elif tag == "button":
            self._button, self._button_text = found, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.inside_label -= 1
        elif tag == "button" and self._button is not None:
            if not (self._button_text.strip() or self._button.get("aria-label")):
                self.unlabelled.append(f"button {self._button}")
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data

    def close(self) -> None:
        super().close()
        for tag, found in self._pending:
            if found.get("id") not in self.labelled_ids:
                self.unlabelled.append(f"{tag} {found}")


async def test_every_control_has_a_label(
    app_: App, logged_in: Callable[[Person], Awaitable[Browser]], owner: Person, member: Person
) -> None:
    assert app_.dashboard is not None
    browser = await logged_in(owner)
    paths = [r.path for r in app_.dashboard.routes if r.method == "GET" and "{" not in r.path]
    paths += [f"/dashboard/people/{member.id}", "/dashboard/memories/forget-everything"]
    checked = 0
    for path in paths:
        page = await browser.get(path)
        if page.status != 200 or "text/html" not in page.headers.get("Content-Type", ""):
            continue
        controls = Controls()
        controls.feed(page.text)
        controls.close()
        assert controls.lang == "en", path
        assert controls.headings == 1, path
        assert controls.unlabelled == [], path
        checked += 1
    assert checked >= 10, checked
