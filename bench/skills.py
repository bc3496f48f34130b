"""What skills cost: prompt tokens of the index versus inlining every skill, and the
time to load, validate and scan skills.

Progressive disclosure puts only each skill's name and one-line description in the
(cached) system prompt; the body is loaded by a tool when needed. This prints the
index's size next to what putting every bundled SKILL.md body in the prompt would
cost, and how long the loader + scanner take on the bundled skills and on the
largest SKILL.md allowed (100 KB), so start-up and `clawling skills check` stay fast.
Tokens are estimated at 4 characters a token.

    python -m bench.skills [--repeat 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import skills as bundled
from bot.agent.prompt import estimate_tokens
from skills.catalog import Capabilities, SkillCatalog
from skills.loader import load_folder, load_sources
from skills.model import BUNDLED

KNOWN = ("current_time", "web_fetch", "web_search", "shell", "create_skill", "use_skill")


def _timed(repeat: int, run: object) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        run()  # type: ignore[operator]
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    repeat = parser.parse_args().repeat
    root = Path(bundled.__file__).parent
    reports = load_sources([(BUNDLED, root)], KNOWN)
    catalog = SkillCatalog(reports, Capabilities.of(KNOWN, set()), known_tools=KNOWN)
    index = catalog.index_text()
    bodies = "\n\n".join(r.skill.body for r in reports if r.skill is not None)
    files = "\n\n".join(t for r in reports if r.skill for t in r.skill.files.values())
    print(f"bundled skills: {len(catalog.available)} offered of {len(reports)}")
    print(f"index in the system prompt: {estimate_tokens(index)} tokens")
    print(
        f"every body inlined instead: {estimate_tokens(bodies)} tokens "
        f"(+{estimate_tokens(files)} for their files)"
    )
    print(
        f"one use_skill result (largest body): "
        f"{max(estimate_tokens(r.skill.body) for r in reports if r.skill)} tokens, "
        "only in turns that use it"
    )

    load_all = _timed(repeat, lambda: load_sources([(BUNDLED, root)], KNOWN))
    print(f"load + validate + scan all bundled skills: {load_all:.2f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        folder.mkdir()
        line = "1. Read the notes and write down every decision with its owner and date.\n"
        text = "---\nname: big\ndescription: A large skill.\n---\n" + line * 1_300
        (folder / "SKILL.md").write_text(text[:99_000])
        big = _timed(max(1, repeat // 5), lambda: load_folder(folder, BUNDLED, KNOWN))
        print(
            f"load + scan one 99 KB SKILL.md ({text[:99_000].count(chr(10))} lines): {big:.1f} ms"
        )
        # The worst a skill can ask of the scanner: files of 256 KB (the cap) built to
        # make patterns backtrack (one long line of URL prefixes, of addresses, of
        # escapes, of single letters) - each must stay about linear.
        worst = {
            "url prefixes": "https://" * 32_000,
            "addresses": "a.b@c.d " * 32_000,
            "hex escapes": "\\x41" * 64_000,
            "spaced letters": "a " * 128_000,
            "verbs": "send the " * 28_000,
        }
        for name, content in worst.items():
            heavy = Path(tmp) / name.replace(" ", "-")
            heavy.mkdir()
            (heavy / "SKILL.md").write_text(
                f"---\nname: {heavy.name}\ndescription: Worst case.\n---\nHello.\n"
            )
            (heavy / "notes.txt").write_text(content[:256_000])
            spent = _timed(1, lambda folder=heavy: load_folder(folder, BUNDLED, KNOWN))
            print(f"worst case, a 256 KB file of {name}: {spent:.0f} ms")


if __name__ == "__main__":
    main()
