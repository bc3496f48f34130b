"""The app's one HTTP server: health checks, and webhooks for chat apps that use them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpServer:
    """aiohttp on CLAWLING_HTTP_HOST:CLAWLING_HTTP_PORT; routes are added before start()."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.app = web.Application(client_max_size=20 * 1024 * 1024)
        self.app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port)
        await site.start()
        for address in self._runner.addresses:
            self.port = address[1]
        log.info("HTTP server on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})
