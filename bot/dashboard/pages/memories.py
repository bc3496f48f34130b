"""The memories page: what the assistant remembers about the person (what /memory shows),
searched as the assistant searches them, changed and forgotten the way the chat does.

An edit is a restated fact: `MemoryStore.remember` with `replaces`, so the new text
becomes the current memory and the old one stays as its history (shown on the edit
page), as when the person corrects the assistant in the chat. Forgetting is /forget's
own function (with its audit entry). Exporting and forgetting everything are on
pages/privacy.py.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from bot.commands.memory import forget_memories
from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Done, NotFound, Site
from memory.memories import MAX_MEMORY_CHARS, MemoryRecord

MEMORIES = f"{ROOT}/memories"
PAGE_SIZE = 20
FOUND = 20  # search results shown


def number(text: str | None, default: int = 1) -> int:
    """A page number or id from the address; `default` for anything else."""
    return int(text) if text and text.isdigit() and len(text) <= 9 else default


async def own_current(site: Site, viewer: Viewer, request: web.Request) -> MemoryRecord:
    """The memory the address names, if it is the viewer's and current; else 404."""
    memory_id = number(request.match_info["memory_id"], default=0)
    memory = await site.parts.memories.get(viewer.user_id, memory_id)
    if memory is None or not memory.current:
        raise NotFound()
    return memory


def install(site: Site) -> None:
    site.menu(MEMORIES, "Memories")
    parts = site.parts

    @site.page(MEMORIES)
    async def memories(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        now = parts.now()
        query = request.query.get("q", "").strip()
        total = await parts.memories.count_current(viewer.user_id, now=now)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(number(request.query.get("page")), pages)
        if query:
            hits = await parts.searcher.search_memories(viewer.user_id, query, limit=FOUND, now=now)
            shown = [hit.memory for hit in hits]
        else:
            shown = await parts.memories.current(
                viewer.user_id, now=now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
        return site.render(
            request,
            viewer,
            "memories.html",
            title="Memories",
            memories=shown,
            query=query,
            total=total,
            page=page,
            pages=pages,
            first=(page - 1) * PAGE_SIZE + 1,
            zone=await site.zone(viewer),
        )

    @site.page(MEMORIES + "/{memory_id}/edit")
    async def edit(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        memory = await own_current(site, viewer, request)
        return site.render(
            request,
            viewer,
            "memory_edit.html",
            title=f"Memory #{memory.id}",
            memory=memory,
            earlier=await parts.memories.history(viewer.user_id, memory.id),
            longest=MAX_MEMORY_CHARS,
            zone=await site.zone(viewer),
        )

    @site.action(MEMORIES + "/{memory_id}/edit")
    async def change(request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        memory = await own_current(site, viewer, request)
        back = f"{MEMORIES}/{memory.id}/edit"
        text = " ".join(form.get("text", "").split())
        if not text:
            return Done(back, "A memory needs some text; nothing was changed.", failed=True)
        if len(text) > MAX_MEMORY_CHARS:
            return Done(
                back,
                f"That is {len(text)} characters; a memory holds at most {MAX_MEMORY_CHARS}. "
                "Nothing was changed.",
                failed=True,
            )
        if text == memory.content:
            return Done(MEMORIES, f"Memory #{memory.id} is unchanged.")
        saved = await parts.memories.remember(
            viewer.user_id,
            text,
            kind=memory.kind,
            key=memory.key,
            replaces=memory.id,
            expires_at=memory.expires_at,
            now=parts.now(),
        )
        if saved.duplicate:
            return Done(back, f"That is already memory #{saved.memory.id}.", failed=True)
        await parts.trail.record(
            "memory.changed",
            await site.actor(viewer),
            id=saved.memory.id,
            replaces=[old.id for old in saved.superseded],
        )
        return Done(
            MEMORIES, f"Saved as memory #{saved.memory.id}; the old text is kept as history."
        )

    @site.action(MEMORIES + "/{memory_id}/forget")
    async def forget(request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        memory = await own_current(site, viewer, request)
        gone = await forget_memories(
            parts.memories,
            parts.trail,
            await site.actor(viewer),
            viewer.user_id,
            str(memory.id),
            parts.now(),
        )
        said = "; ".join(f"#{m.id} {m.content}" for m in gone)
        return Done(MEMORIES, f"Forgotten: {said}" if gone else "It was already forgotten.")
