"""Markdown replies for Slack: literal characters escaped, split under the size limit
without breaking code blocks.

Slack renders standard Markdown sent as `markdown_text` (chat.postMessage,
chat.update, the chat.*Stream methods), up to MARKDOWN_LIMIT characters a message.
Slack reads `&`, `<` and `>` in message text as control characters (`<@U123>`,
`<url|label>`) and asks for them as `&amp;`, `&lt;`, `&gt;` when meant literally;
Markdown itself reads `<b>` as an HTML tag. `for_slack()` writes every literal one
as its entity, which both readings show as the character, so `/forget <id or text>`
or "x<y>z" arrive as written. Code, autolinks (`<https://…>`) and link targets are
left alone, and Markdown formatting (bold, lists, links, quotes) is untouched.

Slack gives an app one slash command, so people type `/clawling new` where other
surfaces type `/new`. Help, usage hints and prompts everywhere write `/new`; given the
command names, `for_slack()` writes each mention outside code as Slack users type it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import pyromark

SLASH_COMMAND = "/clawling"
MARKDOWN_LIMIT = 12_000
FENCE = "```"
_OPTIONS = (
    pyromark.Options.ENABLE_TABLES
    | pyromark.Options.ENABLE_STRIKETHROUGH
    | pyromark.Options.ENABLE_TASKLISTS
)
_ENTITIES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}


def for_slack(markdown: str, commands: Collection[str] = ()) -> str:
    """The Markdown with every literal `&`, `<` and `>` written as Slack's entity, and
    every `/name` of one of `commands` (outside code) as `/clawling name`."""
    spell = _speller(commands) if "/" in markdown else None
    if spell is None and not any(c in markdown for c in "&<>"):
        return markdown
    source = markdown.encode()
    pieces: list[bytes] = []
    done = 0  # bytes of the source already copied
    verbatim = 0  # inside a code block or an autolink: nothing there is escaped
    for payload, span in pyromark.events_with_range(markdown, options=_OPTIONS):
        if not isinstance(payload, dict):
            continue
        start, end = payload.get("Start"), payload.get("End")
        if isinstance(start, dict) and _is_verbatim(start):
            verbatim += 1
        elif end == "CodeBlock" or (end == "Link" and verbatim):
            verbatim -= 1
        literal = "InlineHtml" in payload or "Html" in payload
        if not (literal or ("Text" in payload and not verbatim)):
            continue
        lo, hi = span["start"], span["end"]
        if lo < done:
            continue  # already written (pieces never overlap; this is a safeguard)
        if lo > 0 and source[lo - 1 : lo] == b"\\" and source[lo : lo + 1] in (b"&", b"<", b">"):
            lo -= 1  # `\<`: Markdown's escape of it; the entity replaces both
            escaped = source[lo + 1 : hi].decode().translate(_ENTITIES)
        else:
            escaped = source[lo:hi].decode().translate(_ENTITIES)
        if spell is not None and not literal:
            escaped = spell(escaped)
        pieces += [source[done:lo], escaped.encode()]
        done = hi
    pieces.append(source[done:])
    return b"".join(pieces).decode()


def _speller(commands: Collection[str]) -> Callable[[str], str] | None:
    """Rewrites `/name` (not part of a path or a longer word) as `/clawling name`."""
    if not commands:
        return None
    names = "|".join(sorted(map(re.escape, commands), key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/])/({names})(?![\w/@])")
    return lambda text: pattern.sub(lambda m: f"{SLASH_COMMAND} {m.group(1)}", text)


def _is_verbatim(start: dict[str, Any]) -> bool:
    link = start.get("Link")
    return "CodeBlock" in start or (
        isinstance(link, dict) and link.get("link_type") in ("Autolink", "Email")
    )


def _lines(text: str, longest: int) -> list[str]:
    """The text's lines (with their newlines), lines longer than `longest` cut up."""
    pieces = []
    for line in text.splitlines(keepends=True):
        while len(line) > longest:
            cut = line.rfind(" ", 0, longest)
            cut = cut + 1 if cut > longest // 2 else longest
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    return pieces


def _fence_states(lines: list[str]) -> list[str]:
    """For each line (and the end), the opening line of the code block it is in, or ""."""
    states = []
    fence = ""
    for line in lines:
        states.append(fence)
        if line.lstrip().startswith(FENCE):
            fence = "" if fence else line.strip()
    states.append(fence)
    return states


def split_markdown(text: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between lines (preferring blank
    lines); a code block cut in two is closed and reopened so both halves render."""
    if len(text) <= limit:
        return [text]
    if limit < 100:
        raise ValueError("limit too small to split Markdown sensibly")
    lines = _lines(text, limit // 4)
    states = _fence_states(lines)
    chunks = []
    start = 0
    while start < len(lines):
        opener = states[start]
        size = len(opener) + 1 if opener else 0
        end, blank = start, 0
        while end < len(lines):
            closing = len(FENCE) + 1 if states[end + 1] else 0
            if end > start and size + len(lines[end]) + closing > limit:
                break
            size += len(lines[end])
            end += 1
            if not lines[end - 1].strip() and not states[end]:
                blank = end
        if end < len(lines) and blank > start + (end - start) // 2:
            end = blank  # cut at a paragraph break rather than mid-paragraph
        body = "".join(lines[start:end]).rstrip("\n")
        if opener:
            body = f"{opener}\n{body}"
        if states[end]:
            body += "\n" + FENCE
        if body.strip():
            chunks.append(body)
        start = end
    return chunks


def preview(text: str, limit: int = MARKDOWN_LIMIT, cursor: str = " ▍") -> str:
    """The start of a reply being written, as it fits in one message."""
    if len(text) + len(cursor) <= limit:
        return text + cursor
    return text[: limit - len(cursor) - 1] + "…" + cursor
