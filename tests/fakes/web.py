"""A small web site on 127.0.0.1 (real HTTP, aiohttp), for web_fetch and web_search tests.

Pages are registered by path; every request is recorded, so a test can prove
that a refused URL was never requested.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class LocalSite:
    handlers: dict[str, Handler] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    def page(self, path: str, body: str, content_type: str = "text/html") -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(text=body, content_type=content_type)

        self.handlers[path] = handler

    def raw(self, path: str, body: bytes, content_type: str) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=body, content_type=content_type)

        self.handlers[path] = handler

    def redirect(self, path: str, location: str) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound(location)

        self.handlers[path] = handler

    def json(self, path: str, reply: Callable[[web.Request], Any]) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.json_response(reply(request))

        self.handlers[path] = handler

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path_qs)
        handler = self.handlers.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    async def start(self) -> LocalSite:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
