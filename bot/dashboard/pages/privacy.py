"""The person's data as a whole, from the memories page: a download of exactly what
/export sends, and forgetting everything as /forget_me does.

Both call the command's own functions (bot/commands/memory.py), so the file, the
erasure and their audit entries are the same as in the chat. Forgetting everything
asks first on a page of its own that works without JavaScript: the person types the
word /forget_me asks for. Erasing keeps the person's account (they may go on talking
and start from nothing), so their browser sessions are ended here, everywhere, and
the browser lands on a page that says what happened.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from bot.commands.memory import CONFIRM_WORD, erase_everything, export_file, record_export
from bot.dashboard.access import Viewer
from bot.dashboard.pages.memories import MEMORIES
from bot.dashboard.site import ROOT, Done, Site

EXPORT = f"{MEMORIES}/export"
FORGET_ALL = f"{MEMORIES}/forget-everything"
FORGOTTEN = f"{ROOT}/forgotten"


def install(site: Site) -> None:
    parts = site.parts

    @site.action(EXPORT)
    async def export(
        _request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]
    ) -> web.StreamResponse:
        exported = await export_file(parts.privacy, viewer.user_id, parts.now())
        await record_export(
            parts.trail, await site.actor(viewer), exported, "downloaded from the dashboard"
        )
        return web.Response(
            body=exported.data,
            content_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{exported.name}"'},
        )

    @site.page(FORGET_ALL)
    async def confirm(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return site.render(
            request, viewer, "forget_everything.html", title="Forget everything", word=CONFIRM_WORD
        )

    @site.action(FORGET_ALL)
    async def forget_everything(
        _request: web.Request, viewer: Viewer, form: MultiDictProxy[str]
    ) -> Done:
        if form.get("confirm", "").strip().lower() != CONFIRM_WORD:
            return Done(
                FORGET_ALL,
                f"Nothing was deleted: type {CONFIRM_WORD} in the box to confirm.",
                failed=True,
            )
        actor = await site.actor(viewer)
        await erase_everything(
            parts.privacy, parts.trail, actor, viewer.user_id, parts.settings.core.data_dir
        )
        await site.access.log_out_everywhere(viewer.user_id)
        return Done(FORGOTTEN)

    @site.public("GET", FORGOTTEN)
    async def forgotten(request: web.Request) -> web.StreamResponse:
        return site.render(request, None, "forgotten.html", title="Everything forgotten")
