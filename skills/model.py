"""What a skill is once read: its metadata, instructions, resource files and findings."""

from __future__ import annotations

from dataclasses import dataclass, field

HIGH = "high"
MEDIUM = "medium"
LOW = "low"
SEVERITY_ORDER = {LOW: 0, MEDIUM: 1, HIGH: 2}

BUNDLED = "bundled"
DEPLOYMENT = "deployment"
USER = "user"


@dataclass(frozen=True)
class Finding:
    """One problem found in a skill, at a file and line (line 0: the file as a whole)."""

    severity: str
    rule: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.rule}]"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


@dataclass(frozen=True)
class Requirements:
    """What must be present for a skill to be offered."""

    env: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    body: str  # the Markdown instructions, after the frontmatter
    source: str  # BUNDLED, DEPLOYMENT or USER
    location: str  # the folder, or "user skill #id"
    allowed_tools: tuple[str, ...] | None = None  # None: the skill did not say
    requires: Requirements = Requirements()
    version: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # resource path -> text
    findings: tuple[Finding, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(f.severity == HIGH for f in self.findings)

    @property
    def one_line(self) -> str:
        """The description on one line, short enough for the prompt's index."""
        text = " ".join(self.description.split())
        return text if len(text) <= 300 else text[:299].rstrip() + "…"


@dataclass(frozen=True)
class SkillReport:
    """The outcome of reading one skill: the skill (None if it could not be read) and
    every finding, refusals included. A skill is usable only when `ok`."""

    label: str  # the skill's name, or its folder name when unreadable
    location: str
    skill: Skill | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return self.skill is not None and not any(f.severity == HIGH for f in self.findings)

    def worst(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITY_ORDER.__getitem__)
