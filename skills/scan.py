"""The skill scanner: looks for what malicious skills do, line by line.

It runs on every skill (bundled, installed, drafted) before it can be used, and
behind `clawling skills check`. It never executes anything; it reads text.
A high finding blocks the skill. The patterns are deliberately broad: a false
alarm costs the author a rewording, a miss can cost the user their secrets.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from skills.model import HIGH, MEDIUM, Finding

# Skill tools a loaded skill may always use.
SKILL_TOOLS = frozenset({"use_skill", "read_skill_file"})

_OVERRIDE = [
    re.compile(
        r"\b(ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(previous|prior|"
        r"above|earlier|preceding|system|developer|original|all|any|your)\b[^.\n]{0,25}?\b"
        r"(instructions?|prompts?|rules|guidelines|directives|guardrails|policies)\b",
        re.I,
    ),
    re.compile(r"\byou are (now|no longer)\b[^.\n]{0,60}\b(assistant|ai|bound|restricted)", re.I),
    re.compile(r"\bnew (system )?instructions?\s*:", re.I),
    re.compile(
        r"\b(do not|don't|never)\s+(tell|inform|show|mention\b[^.\n]{0,20}\bto)\s+the\s+user\b",
        re.I,
    ),
    re.compile(r"\bwithout (telling|asking|informing|notifying) the user\b", re.I),
    re.compile(r"\bhide (this|it|these)\b[^.\n]{0,20}\bfrom the user\b", re.I),
    re.compile(
        r"\b(reveal|print|show|output|repeat|leak|dump)\b[^.\n]{0,30}\b(system prompt|your "
        r"(instructions|prompt))\b",
        re.I,
    ),
]

_SECRET_OBJECT = (
    r"(api[ _-]?keys?|access[ _-]?tokens?|bearer tokens?|tokens?|passwords?|passphrases?|"
    r"secrets?|credentials?|private[ _-]?keys?|ssh[ _-]?keys?|\.env\b|id_rsa|[A-Z][A-Z0-9]*_"
    r"(API_KEY|TOKEN|SECRET)\b|environment variables|cookies?|session (ids?|cookies?)|seed "
    r"phrases?|recovery phrases?)"
)
_SECRET_VERB = (
    r"\b(send|post|upload|share|reveal|print|show|output|exfiltrate|include|paste|e-?mail|"
    r"forward|copy|leak|transmit|dump|cat|read|echo|collect|give|tell)\b"
)
# Within one sentence: dots inside paths (~/.ssh) do not end it, ". " does.
_SECRET_REQUEST = re.compile(rf"{_SECRET_VERB}(?:(?!\.\s)[^\n]){{0,60}}?{_SECRET_OBJECT}", re.I)
_ENV_DUMP = re.compile(r"\b(printenv|/proc/self/environ|os\.environ|process\.env)\b")
_NEGATION = re.compile(r"\b(never|not|don't|do not|must not|should not|avoid|without)\b", re.I)

_DOWNLOAD_EXECUTE = [
    re.compile(
        r"\b(curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n|]*\|\s*"
        r"(sudo\s+)?(ba|z|da|k|fi)?sh\b",
        re.I,
    ),
    re.compile(
        r"\b(curl|wget|iwr|irm)\b[^\n|]*\|\s*(sudo\s+)?(python[0-9.]*|perl|ruby|node|php|iex)\b",
        re.I,
    ),
    re.compile(r"\b(ba|z)?sh\s+<\(\s*(curl|wget)\b", re.I),
    re.compile(r"\b(source|eval)\b[^\n]{0,10}[<$]\(\s*(curl|wget)\b", re.I),
    re.compile(r"\bbase64\s+(-d|--decode)\b[^\n]*\|\s*(ba|z)?sh\b", re.I),
    re.compile(r"\b(invoke-expression|iex)\s*\(", re.I),
    re.compile(r"\b(curl|wget)\b[^\n]*(&&|;)\s*(chmod\s+\+x|\./|(ba)?sh\s|python[0-9.]*\s)", re.I),
    re.compile(r"\bpython[0-9.]*\s+-c\s*[\"'][^\"'\n]*(urllib|requests|socket)[^\n]*(exec|eval)"),
]

_INVISIBLE = {
    *range(0x200B, 0x2010),  # zero-width space/joiners, LRM/RLM
    *range(0x2060, 0x2065),  # word joiner, invisible operators
    0xFEFF,  # zero-width no-break space
    0x00AD,  # soft hyphen
    0x180E,  # Mongolian vowel separator
    0x034F,  # combining grapheme joiner
    *range(0xE0000, 0xE0080),  # tag characters (invisible ASCII smuggling)
}
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C}

_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")
_HEX_BLOB = re.compile(r"\b(0x)?[0-9a-fA-F]{128,}\b")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,", re.I)
_COMMENT_OPEN = re.compile(r"<!--")
_PROSE_SUFFIXES = (".md", ".txt", ".markdown")


def _codepoint_findings(file: str, number: int, line: str) -> Iterator[Finding]:
    for column, char in enumerate(line, start=1):
        code = ord(char)
        if code in _BIDI:
            yield Finding(
                HIGH,
                "bidi-control",
                file,
                number,
                f"bidirectional control character U+{code:04X} at column {column} can make "
                "text read differently than it runs",
            )
        elif code in _INVISIBLE and not _joins_emoji(line, column - 1):
            yield Finding(
                HIGH,
                "hidden-unicode",
                file,
                number,
                f"invisible character U+{code:04X} at column {column} can hide text",
            )


def _joins_emoji(line: str, index: int) -> bool:
    """A zero-width joiner between two pictographs is part of an emoji, not hidden text."""
    if ord(line[index]) != 0x200D or index == 0 or index + 1 >= len(line):
        return False
    return ord(line[index - 1]) >= 0x2190 and ord(line[index + 1]) >= 0x2190


def _secret_request(line: str) -> bool:
    for match in _SECRET_REQUEST.finditer(line):
        before = line[max(0, match.start() - 30) : match.start() + len(match.group(1))]
        if not _NEGATION.search(before):
            return True
    return False


def _mentioned_tools(line: str, known: Collection[str]) -> set[str]:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line))
    return {word for word in words & set(known) if "_" in word or f"`{word}`" in line}


def scan_text(
    file: str,
    text: str,
    *,
    allowed_tools: Collection[str] | None = None,
    known_tools: Collection[str] = (),
    first_line: int = 1,
) -> list[Finding]:
    """Findings in one file's text. `allowed_tools` is the skill's list (None: not
    declared); `known_tools` the tool names this assistant has, to spot the others."""
    found: list[Finding] = []
    prose = file.lower().endswith(_PROSE_SUFFIXES)
    allowed = None if allowed_tools is None else {t.split("(")[0] for t in allowed_tools}
    lines = text.splitlines()
    for offset, line in enumerate(lines):
        number = first_line + offset
        found.extend(_codepoint_findings(file, number, line))
        if any(p.search(line) for p in _OVERRIDE):
            found.append(
                Finding(
                    HIGH,
                    "override-instructions",
                    file,
                    number,
                    "tells the assistant to ignore its instructions or hide things from the user",
                )
            )
        if _secret_request(line) or _ENV_DUMP.search(line):
            found.append(
                Finding(HIGH, "secret-request", file, number, "asks for secrets, keys or tokens")
            )
        if any(p.search(line) for p in _DOWNLOAD_EXECUTE):
            found.append(
                Finding(
                    HIGH,
                    "download-execute",
                    file,
                    number,
                    "downloads and runs code (or decodes and runs it)",
                )
            )
        if _BASE64_BLOB.search(line) or _HEX_BLOB.search(line) or _DATA_URI.search(line):
            found.append(
                Finding(
                    HIGH,
                    "encoded-blob",
                    file,
                    number,
                    "a long encoded blob (base64 or hex) can hide instructions or code",
                )
            )
        if _COMMENT_OPEN.search(line):
            found.append(
                Finding(
                    HIGH if prose else MEDIUM,
                    "html-comment",
                    file,
                    number,
                    "an HTML comment is invisible when the skill is read but the model sees it",
                )
            )
        if allowed is not None:
            extra = _mentioned_tools(line, known_tools) - allowed - SKILL_TOOLS
            for name in sorted(extra):
                found.append(
                    Finding(
                        HIGH,
                        "tool-not-allowed",
                        file,
                        number,
                        f"uses the tool {name!r}, which is not in its allowed-tools",
                    )
                )
    return found
