"""Splitting Markdown replies under Slack's size limit without breaking code blocks.

Slack renders standard Markdown sent as `markdown_text` (chat.postMessage,
chat.update, the chat.*Stream methods), up to MARKDOWN_LIMIT characters a message.
"""

from __future__ import annotations

MARKDOWN_LIMIT = 12_000
FENCE = "```"


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
