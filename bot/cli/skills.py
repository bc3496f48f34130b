"""`clawling skills ...`: list, check and install skills."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.audit import record
from bot.cli.launch import load
from bot.settings import Settings
from skills.catalog import SkillCatalog, unmet
from skills.loader import SKILL_FILE, load_folder, skill_folders
from skills.model import DEPLOYMENT, HIGH, SkillReport

skills_cli = typer.Typer(help="Skills: list, check and install.", no_args_is_help=True)

# Every tool Clawling can offer (MCP tools aside), for spotting tools beyond allowed-tools.
KNOWN_TOOLS = (
    "create_skill",
    "current_time",
    "read_skill_file",
    "shell",
    "use_skill",
    "web_fetch",
    "web_search",
)


def _catalog(settings: Settings) -> SkillCatalog:
    from bot.app import build_app  # the same catalog the assistant builds

    async def build() -> SkillCatalog:
        app = build_app(settings)
        await app.close()
        return app.skills

    return asyncio.run(build())


def _report_json(report: SkillReport) -> dict[str, Any]:
    return {
        "name": report.label,
        "location": report.location,
        "ok": report.ok,
        "findings": [f.as_dict() for f in report.findings],
    }


def _print_findings(report: SkillReport) -> None:
    for finding in report.findings:
        print(f"  {report.location}/{finding}")


@skills_cli.command("list")
def list_skills(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Every bundled and installed skill: offered, unavailable (needs unmet) or blocked."""
    catalog = _catalog(load())
    offered = {s.name for s in catalog.available}
    rows = []
    for report in catalog.reports:
        missing = unmet(report.skill, catalog.capabilities) if report.skill else []
        status = (
            "offered"
            if report.label in offered and report.ok
            else ("blocked" if not report.ok else "unavailable")
        )
        source = report.skill.source if report.skill else "?"
        rows.append((report, status, source, missing))
    if as_json:
        print(
            json.dumps(
                [
                    {**_report_json(r), "status": st, "source": src, "needs": m}
                    for r, st, src, m in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        print("No skills found.")
    for report, status, source, missing in rows:
        needs = f" (needs {', '.join(missing)})" if missing else ""
        print(f"{report.label:<24} {status:<12} {source:<10} {report.location}{needs}")
        if status == "blocked":
            _print_findings(report)


def _check_path(path: Path) -> list[SkillReport]:
    if path.is_file() and path.name == SKILL_FILE:
        path = path.parent
    if not path.exists():
        print(f"{path}: no such file or folder", file=sys.stderr)
        raise typer.Exit(2)
    if (path / SKILL_FILE).exists() or not skill_folders(path):
        return [load_folder(path, DEPLOYMENT, KNOWN_TOOLS)]
    return [load_folder(folder, DEPLOYMENT, KNOWN_TOOLS) for folder in skill_folders(path)]


@skills_cli.command("check")
def check(
    path: Annotated[
        Path, typer.Argument(help="a skill folder, its SKILL.md, or a folder of skills")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Validate and scan skills; exit 1 when any has a blocking (high) finding."""
    reports = _check_path(path)
    if as_json:
        print(json.dumps([_report_json(r) for r in reports], indent=2))
    else:
        for report in reports:
            verdict = "ok" if report.ok else "BLOCKED"
            print(f"{report.label}: {verdict} ({len(report.findings)} findings)")
            _print_findings(report)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@skills_cli.command("install")
def install(
    path: Annotated[Path, typer.Argument(help="the skill folder to install")],
    replace: Annotated[bool, typer.Option("--replace", help="replace an installed skill")] = False,
) -> None:
    """Check a skill, then copy it into DATA_DIR/skills/ (only the files that were scanned)."""
    settings = load()
    folder = path.parent if path.name == SKILL_FILE else path
    if not (folder / SKILL_FILE).is_file():
        print(f"Not installed: {folder} is not a skill folder (no {SKILL_FILE}).", file=sys.stderr)
        raise typer.Exit(1)
    report = load_folder(folder, DEPLOYMENT, KNOWN_TOOLS)
    if report.skill is None or not report.ok:
        _print_findings(report)
        print(f"Not installed: {folder} did not pass the check.", file=sys.stderr)
        raise typer.Exit(1)
    skill = report.skill
    existing = _catalog(settings).file_skill_named(skill.name)
    target = settings.core.data_dir / "skills" / skill.name
    if existing is not None and Path(existing.location).resolve() != target.resolve():
        print(
            f"Not installed: {existing.location} already uses the name {skill.name!r}.",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    if target.exists() and not replace:
        print(f"Not installed: {target} exists; use --replace to replace it.", file=sys.stderr)
        raise typer.Exit(1)
    staging = target.with_name(f".{skill.name}.installing")
    _write(staging, (folder / SKILL_FILE).read_text(encoding="utf-8"), skill.files)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    warnings = [f for f in report.findings if f.severity != HIGH]
    for finding in warnings:
        print(f"  note: {finding}")
    print(f"Installed {skill.name} into {target}. Restart the assistant to offer it.")
    asyncio.run(
        record(
            settings,
            "skill.installed",
            skill=skill.name,
            into=str(target),
            replaced=existing is not None or replace,
            notes=len(warnings),
        )
    )


def _write(folder: Path, skill_md: str, files: dict[str, str]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / SKILL_FILE).write_text(skill_md, encoding="utf-8")
    for relative, text in files.items():
        destination = folder / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
