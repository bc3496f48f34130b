"""SKILL.md: YAML frontmatter (name, description, optional fields) and Markdown instructions.

Compatible with the open Agent Skills format: `name`, `description`, `license`,
`compatibility`, `metadata` and `allowed-tools` mean what they mean there;
`requires` and `version` are Clawling's additions. Problems become findings
with the file and line, never exceptions, so one bad skill stops only itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from skills.model import HIGH, LOW, Finding, Requirements

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.:-]+(\(.*\))?$")
KNOWN_FIELDS = {
    "name",
    "description",
    "license",
    "compatibility",
    "metadata",
    "allowed-tools",
    "requires",
    "version",
}
REQUIREMENT_KINDS = ("env", "settings", "tools")


@dataclass(frozen=True)
class ParsedSkill:
    name: str
    description: str
    body: str
    allowed_tools: tuple[str, ...] | None
    requires: Requirements
    version: str | None
    body_line: int  # the file line where the body starts
    # Every text value of the front matter as YAML decodes it (escapes, folded
    # lines), with its file line: what the model will be shown, for the scanner.
    values: tuple[tuple[int, str], ...] = ()


class _Problems:
    """Collects findings for one file."""

    def __init__(self, file: str, lines: list[str]) -> None:
        self.file = file
        self.lines = lines
        self.found: list[Finding] = []

    def add(self, message: str, line: int = 0, severity: str = HIGH, rule: str = "invalid") -> None:
        self.found.append(Finding(severity, rule, self.file, line, message))

    def key_line(self, key: str) -> int:
        """The line of a top-level frontmatter key (1-based), or 1 if it is not found."""
        pattern = re.compile(rf"^{re.escape(key)}\s*:")
        for number, text in enumerate(self.lines, start=1):
            if pattern.match(text):
                return number
            if number > 1 and text.strip() == "---":
                break
        return 1


def _split_frontmatter(text: str, problems: _Problems) -> tuple[str, str, int] | None:
    """(yaml text, body, body's first line) or None when the frontmatter is missing."""
    lines = problems.lines
    if not lines or lines[0].strip() != "---":
        problems.add('must start with a YAML frontmatter block: a line "---" first', 1)
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            body = "\n".join(lines[index + 1 :])
            return "\n".join(lines[1:index]), body, index + 2
    problems.add('the frontmatter is not closed: add a line "---" after it', 1)
    return None


def front_values(front: str, first_line: int = 2) -> list[tuple[int, str]]:
    """(file line, decoded text) of every scalar in the front matter, each node once
    (an alias repeats a node, and nested aliases would repeat it exponentially)."""
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    found: list[tuple[int, str]] = []
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if isinstance(node.value, str) and node.value.strip():
                found.append((node.start_mark.line + first_line, node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    return sorted(found)


def _string_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def _requirements(value: Any, problems: _Problems) -> Requirements:
    line = problems.key_line("requires")
    if value is None:
        return Requirements()
    if not isinstance(value, dict):
        problems.add("requires must be a mapping with env, settings and/or tools lists", line)
        return Requirements()
    found: dict[str, tuple[str, ...]] = {}
    for kind, items in value.items():
        if kind not in REQUIREMENT_KINDS:
            problems.add(f"requires.{kind} is unknown; use env, settings or tools", line)
            continue
        names = _string_list(items)
        if names is None:
            problems.add(f"requires.{kind} must be a list of names", line)
            continue
        found[kind] = tuple(names)
    return Requirements(**found)


def _check_name(value: Any, problems: _Problems, folder: str | None) -> str:
    line = problems.key_line("name")
    if not isinstance(value, str) or not value:
        problems.add("name is required: lowercase letters, digits and hyphens", line)
        return ""
    if len(value) > MAX_NAME or not NAME_PATTERN.match(value):
        problems.add(
            f"name {value[:80]!r} is not allowed: use 1-{MAX_NAME} lowercase letters, digits "
            "and single hyphens (no dots, slashes or spaces)",
            line,
        )
        return ""
    if folder is not None and value != folder:
        problems.add(f"name {value!r} must match its folder's name {folder!r}", line)
    return value


def _check_description(value: Any, problems: _Problems) -> str:
    line = problems.key_line("description")
    if not isinstance(value, str) or not value.strip():
        problems.add("description is required: what the skill does and when to use it", line)
        return ""
    if len(value) > MAX_DESCRIPTION:
        problems.add(f"description is {len(value)} characters; at most {MAX_DESCRIPTION}", line)
    return value.strip()


def _check_optional(meta: dict[str, Any], problems: _Problems) -> None:
    compatibility = meta.get("compatibility")
    if compatibility is not None and (
        not isinstance(compatibility, str) or len(compatibility) > MAX_COMPATIBILITY
    ):
        problems.add(
            f"compatibility must be text of at most {MAX_COMPATIBILITY} characters",
            problems.key_line("compatibility"),
        )
    metadata = meta.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.add("metadata must be a mapping", problems.key_line("metadata"))
    for key in meta:
        if key not in KNOWN_FIELDS:
            problems.add(
                f"unknown field {key!r} is ignored",
                problems.key_line(str(key)),
                LOW,
                "unknown-field",
            )


def parse_skill_md(
    text: str, file: str = "SKILL.md", folder: str | None = None
) -> tuple[ParsedSkill | None, list[Finding]]:
    """Read a SKILL.md's text. `folder` is the folder name the skill's name must match
    (None for skills stored in SQL). Returns the skill (None if unusable) and findings."""
    problems = _Problems(file, text.splitlines())
    split = _split_frontmatter(text, problems)
    if split is None:
        return None, problems.found
    front, body, body_line = split
    try:
        meta = yaml.safe_load(front) if front.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or "not valid YAML"
        problems.add(f"the frontmatter is not valid YAML: {reason}", line)
        return None, problems.found
    if not isinstance(meta, dict):
        problems.add("the frontmatter must be a mapping of fields (name: ..., description: ...)", 2)
        return None, problems.found
    name = _check_name(meta.get("name"), problems, folder)
    description = _check_description(meta.get("description"), problems)
    allowed = None
    if "allowed-tools" in meta:
        allowed = _string_list(meta["allowed-tools"])
        if allowed is None or not all(TOOL_NAME.match(t) for t in allowed):
            problems.add(
                "allowed-tools must be tool names separated by spaces (or a YAML list)",
                problems.key_line("allowed-tools"),
            )
            allowed = None
    requires = _requirements(meta.get("requires"), problems)
    version = meta.get("version")
    if version is not None and not isinstance(version, str | int | float):
        problems.add("version must be text such as 1.2", problems.key_line("version"))
        version = None
    _check_optional(meta, problems)
    if not body.strip():
        problems.add("the instructions (Markdown after the frontmatter) are empty", body_line)
    if any(f.severity == HIGH for f in problems.found) or not name or not description:
        return None, problems.found
    parsed = ParsedSkill(
        name=name,
        description=description,
        body=body.strip("\n"),
        allowed_tools=None if allowed is None else tuple(allowed),
        requires=requires,
        version=None if version is None else str(version),
        body_line=body_line,
        values=tuple(front_values(front)),
    )
    return parsed, problems.found


def render_skill_md(
    name: str,
    description: str,
    instructions: str,
    allowed_tools: tuple[str, ...] | None = None,
    version: str | None = None,
) -> str:
    """A SKILL.md for a drafted skill (the same format as files on disk)."""
    meta: dict[str, Any] = {"name": name, "description": description}
    if allowed_tools is not None:
        meta["allowed-tools"] = " ".join(allowed_tools)
    if version is not None:
        meta["version"] = version
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000).strip()
    return f"---\n{front}\n---\n\n{instructions.strip()}\n"
