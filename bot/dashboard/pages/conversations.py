"""The conversations page: the person's history by conversation, and search across it.

Which conversations and which messages are the person's is decided once, in
memory/transcripts.py: their private chats, and their side of the group chats they
took part in (what they said and what was answered to them), never someone else's
private chat. The search is `search_history`'s, scoped as from the person's private
chat (`Scope(user_id)`: the same messages), so the page shows nothing the assistant
would not find for them.
"""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.pages.memories import number
from bot.dashboard.site import ROOT, NotFound, Site
from memory.retrieval.scopes import Scope

CONVERSATIONS = f"{ROOT}/conversations"
PAGE_SIZE = 20  # conversations listed
LINES = 50  # messages on a conversation's page
FOUND = 20  # search results


def install(site: Site) -> None:
    site.menu(CONVERSATIONS, "Conversations")
    parts = site.parts

    @site.page(CONVERSATIONS)
    async def conversations(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        query = request.query.get("q", "").strip()
        total = await parts.transcripts.count(viewer.user_id)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(number(request.query.get("page")), pages)
        found = (
            await parts.searcher.search_messages(
                Scope(viewer.user_id), query, limit=FOUND, now=parts.now()
            )
            if query
            else []
        )
        return site.render(
            request,
            viewer,
            "conversations.html",
            title="Conversations",
            query=query,
            found=found,
            chats=await parts.transcripts.chats(
                viewer.user_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            ),
            total=total,
            page=page,
            pages=pages,
            zone=await site.zone(viewer),
        )

    @site.page(CONVERSATIONS + "/{conversation_id}")
    async def conversation(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        chat = await parts.transcripts.chat(
            viewer.user_id, number(request.match_info["conversation_id"], default=0)
        )
        if chat is None:
            raise NotFound()
        before = number(request.query.get("before"), default=0) or None  # None: the newest
        shown = await parts.transcripts.lines(viewer.user_id, chat.id, before=before, limit=LINES)
        return site.render(
            request,
            viewer,
            "conversation.html",
            title="Private chat" if chat.is_direct else "Group chat",
            chat=chat,
            lines=shown.lines,
            earlier=shown.earlier,
            paged=before is not None,
            zone=await site.zone(viewer),
        )
