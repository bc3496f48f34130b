"""The `clawling` command as a user runs it: a subprocess against the fake model server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAI

CLAWLING = str(Path(sys.executable).parent / "clawling")


def run(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLAWLING, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def environment(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    return {
        **base,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "COLUMNS": "200",
    }
