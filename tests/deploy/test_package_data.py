"""The dashboard's templates and static files ship in the package (the container installs
it without the source tree): every file there matches pyproject's package-data."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_dashboard_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    folder = ROOT / "bot" / "dashboard"
    files = [
        path.relative_to(ROOT / "bot").as_posix()
        for kind in ("templates", "static")
        for path in (folder / kind).rglob("*")
        if path.is_file()
    ]
    assert len(files) > 10
    missed = [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert missed == []
