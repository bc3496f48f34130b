"""The skill scanner: looks for what malicious skills do, in what the model will read.

It runs on every skill (bundled, installed, drafted) before it can be used, and
behind `clawling skills check`. It never executes anything; it reads text. Each
file is normalised first (skills/normalise.py: invisible characters found and
removed, NFKC, look-alike letters folded), its lines joined so split sentences
are whole, and every encoded run decoded and scanned again; the front matter is
scanned as YAML decodes it; scripts and code blocks are read as shell commands
(skills/shell_flow.py). The rules are data, in skills/scan_rules.yaml. A high
finding blocks the skill: a false alarm costs the author a rewording, a miss can
cost the person their secrets.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

from skills.model import HIGH, MEDIUM, Finding
from skills.normalise import (
    Decoded,
    char_classes,
    class_table,
    collapse,
    confusables,
    decode_runs,
    join_lines,
    normalise,
    rules_data,
    squeeze,
)
from skills.shell_flow import download_then_run

# Skill tools a loaded skill may always use.
SKILL_TOOLS = frozenset({"use_skill", "read_skill_file"})

PROSE_SUFFIXES = (".md", ".txt", ".markdown", ".rst")
MARKUP_SUFFIXES = (".html", ".htm", ".xml", ".svg", ".xhtml")
SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh", ".command")
MAX_DEPTH = 3  # decoded text holding another encoding is decoded again, this deep


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    message: str
    patterns: tuple[re.Pattern[str], ...]
    negatable: bool


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _expand(pattern: str, lists: dict[str, str]) -> str:
    """A pattern with each {name} replaced by that list (an unknown name is an error)."""
    return _PLACEHOLDER.sub(lambda m: lists[m.group(1)], pattern)


def word_lists() -> dict[str, str]:
    """The rules file's lists as regular expressions: alternatives joined without the
    white space YAML folds in, and lists named inside lists filled in."""
    raw = rules_data()["lists"]
    assert isinstance(raw, dict)
    plain = {name: re.sub(r"\s*\|\s*", "|", str(value).strip()) for name, value in raw.items()}
    return {name: _expand(value, plain) for name, value in plain.items()}


@cache
def scan_rules() -> tuple[Rule, ...]:
    """The pattern rules of skills/scan_rules.yaml, compiled."""
    data = rules_data()
    lists = word_lists()
    rules = data["rules"]
    assert isinstance(rules, list)
    return tuple(
        Rule(
            id=rule["id"],
            severity=rule["severity"],
            message=rule["message"],
            patterns=tuple(re.compile(_expand(p, lists), re.I) for p in rule["patterns"]),
            negatable=bool(rule.get("negatable", False)),
        )
        for rule in rules
    )


@cache
def _negation() -> re.Pattern[str]:
    words = word_lists()["negation"]
    # "never send …", "do not ever share the …": a negation at most three words before.
    return re.compile(rf"\b(?:{words})\b((?:\s+[\w'’]+){{0,3}})\s*$", re.I)


def reload_rules() -> None:
    """Read skills/scan_rules.yaml again: the rules are compiled once and kept."""
    for cached in (rules_data, char_classes, class_table, confusables, scan_rules, _negation):
        cached.cache_clear()


_DOUBLE_NEGATIVE = re.compile(r"\b(?:forget|fail|neglect|omit|hesitate|skip|miss)\b", re.I)


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 40) : start]
    match = _negation().search(before)
    return match is not None and not _DOUBLE_NEGATIVE.search(match.group(1))


SCRIPT, PROSE, MARKUP, OTHER = "script", "prose", "markup", "other"
_SHEBANG = re.compile(r"#!\s*/\S*(?:ba|z|k|da)?sh\b|#!\s*/usr/bin/env\s+(?:ba|z|k|da)?sh\b")


def _kind(file: str, text: str) -> str:
    """What a file is read as: a script, prose (Markdown, text, no extension), markup
    (HTML, XML, SVG) or other (code, data)."""
    suffix = PurePosixPath(file.lower()).suffix
    if suffix in SCRIPT_SUFFIXES or _SHEBANG.match(text):
        return SCRIPT
    if suffix in PROSE_SUFFIXES or not suffix:
        return PROSE
    if suffix in MARKUP_SUFFIXES:
        return MARKUP
    return OTHER


_SHELL_FENCES = {"", "sh", "bash", "shell", "zsh", "console", "terminal", "ksh", "shell-session"}
# A fenced code block: its language and its text, up to the closing fence or the end.
_FENCED = re.compile(
    r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S
)
_PROMPT = re.compile(r"^\s*[$>#%]\s+", re.M)


def _shell_blocks(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text without prompts) of each fenced code block that may be shell."""
    for match in _FENCED.finditer(text):
        if match.group(2).lower() in _SHELL_FENCES:
            yield text.count("\n", 0, match.start(3)), _PROMPT.sub("", match.group(3))


_BLOB = re.compile(
    r"[A-Za-z0-9+/]{200,}={0,2}|\b(?:0x)?[0-9a-fA-F]{128,}\b|data:[\w/+.-]+;base64,", re.I
)
_HTML_COMMENT = re.compile(r"<!--")
_MARKDOWN_COMMENT = re.compile(r"^\s*\[[^\]]*\]:\s*(?:#|<>)\s*(?:\(|\"|')")
_HIDDEN_HTML = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])|opacity\s*:\s*0(?![.\d])|"
    r"<[a-z][^>]*\shidden(?:\s|=|>)|color\s*:\s*(?:white|#fff(?:fff)?)\b[^>]*background(?:-color)?\s*:\s*(?:white|#fff(?:fff)?)\b",
    re.I,
)


class _Findings:
    """Findings for one file, one per rule and line (given 0-based, reported 1-based)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: dict[tuple[str, int], Finding] = {}

    def add(self, severity: str, rule: str, line: int, message: str) -> None:
        number = line + 1
        self.found.setdefault((rule, number), Finding(severity, rule, self.file, number, message))


def _match_rules(found: _Findings, text: str, at_line: int | None = None, note: str = "") -> None:
    """Every pattern rule over `text` (already normalised), lines joined and letters
    written apart squeezed. `at_line` pins findings to one line (decoded text)."""
    joined = join_lines(text)
    views = {joined.text, squeeze(joined.text)}
    for view in views:
        compact, origin = collapse(view)
        for rule in scan_rules():
            for pattern in rule.patterns:
                for match in pattern.finditer(compact):
                    if rule.negatable and _negated(compact, match.start()):
                        continue
                    line = joined.line_at(origin[match.start()]) if at_line is None else at_line
                    found.add(rule.severity, rule.id, line, rule.message + note)


def _decoded(
    found: _Findings, text: str, at_line: int | None, depth: int, also: Iterable[Decoded] = ()
) -> None:
    """Every encoded run of `text` decoded and scanned, at the line where it starts;
    what is still encoded after MAX_DEPTH layers is a finding of its own."""
    for run in [*also, *decode_runs(text)]:
        line = run.line if at_line is None else at_line
        note = f" (hidden in {run.kind})"
        inner = normalise(run.text)
        _match_rules(found, inner.text, line, note)
        for hidden in inner.hidden:
            found.add(HIGH, hidden.cls.id, line, hidden.cls.message + note)
        if download_then_run(inner.visible):
            found.add(HIGH, "download-execute", line, "downloads and runs code" + note)
        if depth < MAX_DEPTH:
            _decoded(found, inner.visible, line, depth + 1)
        elif decode_runs(inner.visible):
            found.add(HIGH, "encoded-blob", line, f"text encoded more than {MAX_DEPTH} times over")


def scan_text(
    file: str,
    text: str,
    *,
    allowed_tools: Collection[str] | None = None,
    known_tools: Collection[str] = (),
) -> list[Finding]:
    """Findings in one file's text. `allowed_tools` is the skill's list (None: not
    declared); `known_tools` the tool names this assistant has, to spot the others."""
    found = _Findings(file)
    kind = _kind(file, text)
    plain = normalise(text)
    for hidden in plain.hidden:
        found.add(
            HIGH,
            hidden.cls.id,
            hidden.line,
            f"{hidden.cls.message}: U+{hidden.code:04X} at column {hidden.column}"
            + (f" and {hidden.count - 1} more" if hidden.count > 1 else ""),
        )
    for line, word in plain.mixed:
        found.add(
            HIGH,
            "mixed-script",
            line,
            f"the word {word!r} mixes Latin letters with look-alikes from another script",
        )
    _match_rules(found, plain.text)
    _decoded(found, plain.visible, None, 1, plain.smuggled)
    lines = text.split("\n")
    if kind == SCRIPT:
        blocks: Iterable[tuple[int, str]] = [(0, text)]
    else:
        blocks = _shell_blocks(text)
    for start, block in blocks:
        for offset in download_then_run(block):
            found.add(HIGH, "download-execute", start + offset, "downloads code and runs it")
    allowed = None if allowed_tools is None else {t.split("(")[0] for t in allowed_tools}
    for number, raw_line in enumerate(lines):
        _line_rules(found, number, raw_line, kind, allowed, known_tools)
    return sorted(found.found.values(), key=lambda f: (f.line, f.rule))


def _line_rules(
    found: _Findings,
    number: int,
    line: str,
    kind: str,
    allowed: set[str] | None,
    known_tools: Collection[str],
) -> None:
    hidden_severity = HIGH if kind == PROSE else MEDIUM
    if _BLOB.search(line):
        found.add(
            HIGH,
            "encoded-blob",
            number,
            "a long encoded blob (base64 or hex) can hide instructions or code",
        )
    if _HTML_COMMENT.search(line):
        found.add(
            hidden_severity,
            "html-comment",
            number,
            "an HTML comment is invisible when the skill is read but the model sees it",
        )
    if kind == PROSE and _MARKDOWN_COMMENT.match(line):
        found.add(
            HIGH,
            "markdown-comment",
            number,
            "a Markdown comment ([//]: # (...)) is invisible when read but the model sees it",
        )
    if kind in (PROSE, MARKUP) and _HIDDEN_HTML.search(line):
        found.add(
            hidden_severity,
            "hidden-html",
            number,
            "text styled to be invisible is hidden from people but not from the model",
        )
    if allowed is not None:
        for name in sorted(_mentioned_tools(line, known_tools) - allowed - SKILL_TOOLS):
            found.add(
                HIGH,
                "tool-not-allowed",
                number,
                f"uses the tool {name!r}, which is not in its allowed-tools",
            )


def _mentioned_tools(line: str, known: Collection[str]) -> set[str]:
    words = set(re.findall(r"\w+", line))
    return {word for word in words & set(known) if "_" in word or f"`{word}`" in line}


def scan_values(file: str, values: Iterable[tuple[int, str]]) -> list[Finding]:
    """Findings in decoded front-matter values: (file line, text as YAML reads it)."""
    found: list[Finding] = []
    for line, value in values:
        for finding in scan_text(file, value):
            found.append(
                Finding(
                    finding.severity,
                    finding.rule,
                    file,
                    line,
                    finding.message + " (in the front matter)",
                )
            )
    return found
