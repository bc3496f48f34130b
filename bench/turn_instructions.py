"""Instructions per turn, counted by valgrind's callgrind: the repeatable figure.

Wall-clock figures on a shared 2-core machine swing 10-25 % between identical runs;
instruction counts repeat to about 0.1 %, so this is how two versions of the code
are compared (e.g. before and after a refactoring that must not change the cost).
It runs `bench.turn_overhead`'s saturated SQLite run (no think time) under
`valgrind --tool=callgrind --instr-atstart=no`, switches counting on only for the
measured conversations (`callgrind_control -i on`), and prints the total divided
by the number of turns. Needs valgrind; the fake model server runs uncounted in its
own process.

    python -m bench.turn_instructions [--conversations 10] [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import ROOT, database, fake_model_server
from bench.turn_overhead import measure

INSIDE = "CLAWLING_BENCH_UNDER_CALLGRIND"


def _switch(measuring: bool) -> None:
    flag = "on" if measuring else "off"
    subprocess.run(
        ["callgrind_control", "-i", flag, str(os.getpid())], check=True, capture_output=True
    )


def _inside(conversations: int, turns: int) -> None:
    """The measured process (started by `main` under valgrind)."""
    with (
        fake_model_server() as model_url,
        tempfile.TemporaryDirectory() as tmp,
        database("sqlite", Path(tmp)) as url,
    ):
        asyncio.run(measure(url, model_url, Path(tmp), conversations, turns, 0.0, _switch))


def _total_instructions(path: Path) -> int:
    match = re.search(r"^totals: (\d+)", path.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no totals line in {path}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    if os.environ.get(INSIDE):
        _inside(args.conversations, args.turns)
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind (with callgrind_control) is needed: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.turn_instructions",
            f"--conversations={args.conversations}",
            f"--turns={args.turns}",
        ]
        env = {**os.environ, INSIDE: "1", "PYTHONHASHSEED": "0"}
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        total = _total_instructions(out)
    turns = args.conversations * args.turns
    print(
        f"turn instructions: {args.conversations} conversations x {args.turns} turns, SQLite, "
        "zero-latency fake model (counted under callgrind, measured phase only)"
    )
    print(f"{total / turns / 1e6:.2f} M instructions per turn ({total:,} in all)")


if __name__ == "__main__":
    main()
