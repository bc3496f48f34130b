"""kill -9 in the middle of a task: the restarted process resumes from the last
checkpoint, keeps the status message going and delivers the result exactly once.

Runs the real `clawling chat` in a subprocess (the terminal channel), against the
fake model server in this process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from memory.db import async_url
from tests.bot.harness.background import is_task_step, poll, step_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

LAST_STEP = 30
ROOT = str(Path(__file__).resolve().parents[3])


class Chat:
    """`clawling chat` in a subprocess, its output collected line by line."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat", "--as", "tester"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            text=True,
        )
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._reader.join(10)

    def leave(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()  # end of input: the chat says goodbye and exits
        code = self.process.wait(60)
        self._reader.join(10)
        return code


def responder(request: dict[str, Any]) -> Reply:
    if not is_task_step(request):
        return echo(request)
    step = step_of(request)
    if step >= LAST_STEP:
        return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
    return Reply(tool_calls=[("save_note", {"note": f"step {step}"})], delay=0.1)


async def committed_step(database_url: str) -> tuple[str, int]:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT status, step FROM tasks"))).one()
            return str(row[0]), int(row[1])
    finally:
        await engine.dispose()


async def test_kill_9_mid_task_resumes_from_the_checkpoint_and_delivers_once(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = responder
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))} | {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_TASK_PROGRESS_SECONDS": "0.3",
        "PYTHONPATH": ROOT,
        "COLUMNS": "200",
    }
    first = Chat(env, tmp_path)
    try:
        first.say("/task count to thirty")
        await poll(lambda: len([r for r in fake_llm.requests if is_task_step(r)]) >= 10, within=60)
    finally:
        first.kill()
    status, step = await committed_step(database_url)
    assert status == "running" and 8 <= step < LAST_STEP
    before = len(fake_llm.requests)

    second = Chat(env, tmp_path)
    try:
        await poll(lambda: "Task #1 is done" in second.output(), within=60)
        await asyncio.sleep(0.5)  # anything sent twice would show up right behind it
    finally:
        assert second.leave() == 0
    resumed = [step_of(r) for r in fake_llm.requests[before:] if is_task_step(r)]
    assert resumed[0] == step + 1, "resumed right after the last checkpoint"
    assert resumed == list(range(step + 1, LAST_STEP + 1))
    both = first.output() + "\n" + second.output()
    assert both.count("Task #1 is done") == 1
    assert both.count(f"counted to {LAST_STEP}") == 1
    assert "Started task #1" in first.output()
    # The status message kept updating in the restarted process.
    assert any("Task #1 · step" in line for line in second.lines)
    assert await committed_step(database_url) == ("succeeded", LAST_STEP)
