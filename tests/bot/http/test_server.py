"""The HTTP server: a place it cannot listen is one line naming the setting to change."""

from __future__ import annotations

import socket

import pytest

from bot.errors import StartupFailure
from bot.http.server import HttpServer


async def test_a_port_in_use_names_clawling_http_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer("127.0.0.1", port)
        with pytest.raises(StartupFailure) as caught:
            await server.start()
    assert str(caught.value) == (
        f"Port {port} is already in use on 127.0.0.1 (CLAWLING_HTTP_PORT). Fix: stop the "
        "program using it, or set CLAWLING_HTTP_PORT to a free port."
    )
    await server.start()  # the port is free again: the failed start left nothing behind
    await server.stop()


async def test_an_address_of_another_machine_names_clawling_http_host() -> None:
    server = HttpServer("192.0.2.1", 0)  # TEST-NET-1: never an address of this machine
    with pytest.raises(StartupFailure) as caught:
        await server.start()
    assert str(caught.value).startswith(
        "Cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine "
        "(CLAWLING_HTTP_HOST). Fix: set CLAWLING_HTTP_HOST to 127.0.0.1"
    )
