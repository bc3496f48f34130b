"""Reading skill folders from disk, and skills stored as text, into checked `Skill`s.

Every file is read as text only (nothing is imported or run), within size caps,
and must stay inside its folder. Each skill is validated and scanned; problems
are findings naming the file and line, so a bad skill stops only itself.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path

from skills.model import HIGH, MEDIUM, Finding, Skill, SkillReport
from skills.parse import ParsedSkill, parse_skill_md
from skills.scan import scan_text, scan_values

SKILL_FILE = "SKILL.md"
MAX_SKILL_MD_BYTES = 100_000
MAX_RESOURCE_BYTES = 256_000
MAX_TOTAL_BYTES = 1_000_000
MAX_FILES = 50
MAX_USER_SKILL_CHARS = 32_000
IGNORED = {"__pycache__"}


class _Reader:
    """Reads the text files of one skill folder, recording what it refuses."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder.resolve()
        self.findings: list[Finding] = []
        self.total = 0

    def refuse(self, file: str, message: str, line: int = 0, rule: str = "invalid") -> None:
        self.findings.append(Finding(HIGH, rule, file, line, message))

    def read(self, path: Path, limit: int) -> str | None:
        relative = path.relative_to(self.folder).as_posix()
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root):
                self.refuse(relative, f"is a symlink to {target}, outside the skill folder")
                return None
        if not path.is_file():
            self.refuse(relative, "is not a regular file")
            return None
        size = path.stat().st_size
        if size > limit:
            self.refuse(relative, f"is {size:,} bytes; at most {limit:,} are allowed", rule="size")
            return None
        self.total += size
        data = path.read_bytes()[: limit + 1]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            self.refuse(
                relative,
                f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column})",
                line,
                rule="encoding",
            )
            return None

    def resources(self) -> dict[str, str]:
        """Every other file of the folder (hidden files and __pycache__ are skipped)."""
        files: dict[str, str] = {}
        paths: list[Path] = []
        for directory, subdirs, names in os.walk(self.folder, followlinks=False):
            base = Path(directory)
            for sub in list(subdirs):
                if sub.startswith(".") or sub in IGNORED:
                    subdirs.remove(sub)
                elif (base / sub).is_symlink():
                    subdirs.remove(sub)
                    self._linked_folder(base / sub)
            paths.extend(base / n for n in names if not n.startswith("."))
        for path in sorted(paths):
            relative = path.relative_to(self.folder).as_posix()
            if relative == SKILL_FILE:
                continue
            if len(files) >= MAX_FILES:
                self.refuse(relative, f"too many files: at most {MAX_FILES}", rule="size")
                break
            text = self.read(path, MAX_RESOURCE_BYTES)
            if self.total > MAX_TOTAL_BYTES:
                self.refuse(relative, f"the skill is over {MAX_TOTAL_BYTES:,} bytes", rule="size")
                break
            if text is not None:
                files[relative] = text
        return files

    def _linked_folder(self, path: Path) -> None:
        relative = path.relative_to(self.folder).as_posix()
        target = path.resolve()
        if not target.is_relative_to(self.root):
            self.refuse(relative, f"is a symlink to {target}, outside the skill folder")
        else:
            self.findings.append(
                Finding(MEDIUM, "symlink", relative, 0, "a linked folder is not read")
            )


def _scan_all(
    skill_md: str,
    parsed: ParsedSkill,
    files: dict[str, str],
    known_tools: Collection[str],
) -> list[Finding]:
    """Every file of the skill, and the front matter as it is decoded for the prompt."""
    allowed = parsed.allowed_tools
    found = scan_text(SKILL_FILE, skill_md, allowed_tools=allowed, known_tools=known_tools)
    # Tool mentions in the frontmatter (requires.tools) are declarations, not uses.
    found = [f for f in found if f.rule != "tool-not-allowed" or f.line >= parsed.body_line]
    seen = {(f.rule, f.line) for f in found}
    found += [f for f in scan_values(SKILL_FILE, parsed.values) if (f.rule, f.line) not in seen]
    for name, text in files.items():
        found.extend(scan_text(name, text, allowed_tools=allowed, known_tools=known_tools))
    return found


def load_folder(folder: Path, source: str, known_tools: Collection[str] = ()) -> SkillReport:
    """Read, validate and scan one skill folder."""
    label = folder.name
    reader = _Reader(folder)
    if folder.is_symlink():
        reader.refuse(label, "the skill folder is a symlink; copy the folder instead")
        return SkillReport(label, str(folder), None, tuple(reader.findings))
    skill_md = (
        reader.read(folder / SKILL_FILE, MAX_SKILL_MD_BYTES)
        if (folder / SKILL_FILE).exists() or (folder / SKILL_FILE).is_symlink()
        else None
    )
    if skill_md is None:
        if not reader.findings:
            reader.refuse(SKILL_FILE, "is missing: a skill is a folder with a SKILL.md file")
        return SkillReport(label, str(folder), None, tuple(reader.findings))
    parsed, problems = parse_skill_md(skill_md, SKILL_FILE, folder=folder.name)
    files = reader.resources()
    findings = [*reader.findings, *problems]
    if parsed is None:
        return SkillReport(label, str(folder), None, tuple(findings))
    findings += _scan_all(skill_md, parsed, files, known_tools)
    skill = Skill(
        name=parsed.name,
        description=parsed.description,
        body=parsed.body,
        source=source,
        location=str(folder),
        allowed_tools=parsed.allowed_tools,
        requires=parsed.requires,
        version=parsed.version,
        files=files,
        findings=tuple(findings),
    )
    return SkillReport(parsed.name, str(folder), skill, tuple(findings))


def load_text(
    content: str, source: str, location: str, known_tools: Collection[str] = ()
) -> SkillReport:
    """Validate and scan a skill kept as SKILL.md text (drafted skills in SQL)."""
    if len(content) > MAX_USER_SKILL_CHARS:
        finding = Finding(
            HIGH,
            "size",
            SKILL_FILE,
            0,
            f"is {len(content):,} characters; at most {MAX_USER_SKILL_CHARS:,} are allowed",
        )
        return SkillReport(location, location, None, (finding,))
    parsed, problems = parse_skill_md(content, SKILL_FILE)
    if parsed is None:
        return SkillReport(location, location, None, tuple(problems))
    findings = problems + _scan_all(content, parsed, {}, known_tools)
    skill = Skill(
        name=parsed.name,
        description=parsed.description,
        body=parsed.body,
        source=source,
        location=location,
        allowed_tools=parsed.allowed_tools,
        requires=parsed.requires,
        version=parsed.version,
        findings=tuple(findings),
    )
    return SkillReport(parsed.name, location, skill, tuple(findings))


def skill_folders(root: Path) -> list[Path]:
    """The skill folders directly under `root`, by name (hidden ones skipped)."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if (p.is_dir() or p.is_symlink()) and not p.name.startswith((".", "_"))
    )


def load_sources(
    sources: Iterable[tuple[str, Path]], known_tools: Collection[str] = ()
) -> list[SkillReport]:
    """Every skill folder of each (source, root) in order. A name taken by an earlier
    skill is refused for the later one (bundled skills come first)."""
    reports: list[SkillReport] = []
    taken: dict[str, SkillReport] = {}
    for source, root in sources:
        for folder in skill_folders(root):
            report = load_folder(folder, source, known_tools)
            first = taken.get(report.label)
            if first is not None and report.skill is not None:
                clash = Finding(
                    HIGH,
                    "name-collision",
                    SKILL_FILE,
                    0,
                    f"the name {report.label!r} is already taken by {first.location}",
                )
                report = SkillReport(report.label, report.location, None, (*report.findings, clash))
            elif report.skill is not None:
                taken[report.label] = report
            reports.append(report)
    return reports
