"""The app's one HTTP server: health checks, and webhooks for chat apps that use them."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.errors import StartupFailure

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


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

    def before_sending(self, hook: ResponseHook) -> None:
        """Call `hook` on every response just before its headers go out (errors and
        streams included), e.g. the dashboard's security headers; before start()."""
        self.app.on_response_prepare.append(hook)

    @property
    def listening(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise StartupFailure(_listen_problem(self.host, self.requested_port, exc)) from None
        for address in self._runner.addresses:
            self.port = address[1]
        log.info("HTTP server on http://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


def _listen_problem(host: str, port: int, exc: OSError) -> str:
    """One line saying why we cannot listen there, and which setting avoids it."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} is already in use on {host} (CLAWLING_HTTP_PORT). Fix: stop the "
            "program using it, or set CLAWLING_HTTP_PORT to a free port."
        )
    if exc.errno == errno.EACCES:
        return (
            f"Not allowed to listen on port {port} (CLAWLING_HTTP_PORT): ports below 1024 need "
            "privileges. Fix: set CLAWLING_HTTP_PORT to 1024 or above (e.g. 8080)."
        )
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return (
            f"Cannot listen on {where}: {host} is not an address of this machine "
            "(CLAWLING_HTTP_HOST). Fix: set CLAWLING_HTTP_HOST to 127.0.0.1, or 0.0.0.0 for "
            "every interface."
        )
    return (
        f"Cannot listen on {where} ({exc.strerror or exc}). Fix: check CLAWLING_HTTP_HOST "
        "and CLAWLING_HTTP_PORT."
    )
