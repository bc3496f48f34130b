"""Redaction: secrets taken out of every line Clawling writes (logs, tracebacks, errors).

What it promises, on any text, after formatting (so a library's own log records, the
URLs it puts in them and the tracebacks under them are covered alike):

1. Every configured secret (each `SecretStr`, each password or secret query parameter
   inside a URL setting, MCP server headers and secret-looking env values and args) is
   replaced by `<redacted>`, in its plain, URL-encoded and JSON-escaped forms.
2. Secrets nobody configured but whose shape is known are replaced too: Telegram bot
   tokens, Slack tokens, `Bearer` credentials, `sk-` keys, JWTs, GitHub tokens.
3. In any URL the password becomes `***` (the user stays, to tell accounts apart) and
   so do query parameters named like secrets (`key`, `token`, `sig`, `password`...).

Limits: a value shorter than 4 characters is left to the patterns (replacing it would
garble every line), and a secret split across lines or encoded otherwise (base64 of
`user:password`, hex) is not recognised.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, quote_plus, unquote

from pydantic import BaseModel, SecretStr

REDACTED = "<redacted>"
MASK = "***"
MIN_SECRET_LENGTH = 4

# Words that make a setting, an env variable, a header or a flag secret-bearing.
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIAL", "COOKIE")

_URL_PASSWORD = re.compile(r"(\b[A-Za-z][\w+.-]*://[^\s:/?#@'\"]*:)[^\s/?#@'\"]+@")
# Query parameter names that carry credentials (`?key=`, `&access_token=`, `sig=`...).
_SECRET_PARAM = re.compile(
    r"([?&;][\w.-]*?(?:key|token|secret|passw(?:or)?d|pwd|sig|signature|auth|ticket|"
    r"credentials?)=)(?:[^&\s#'\":]|:(?!\s|$))+",  # a colon may end the sentence, not the value
    re.IGNORECASE,
)
_PARAM_WORDS = ("key", "token", "secret", "passw", "pwd", "sig", "auth", "ticket", "credential")


class _Step(NamedTuple):
    """One pattern, tried only on text holding one of its (lowercase) hint words:
    most log lines hold none, and a substring test is far cheaper than a regex scan."""

    hints: tuple[str, ...]
    pattern: re.Pattern[str]
    replacement: str


_STEPS = [
    # Telegram bot tokens (also URL-encoded, as in form bodies), Slack bot/user/app tokens.
    _Step((":", "%3a"), re.compile(r"(?<!\d)\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}"), REDACTED),
    _Step(("xox", "xapp-"), re.compile(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{8,}"), REDACTED),
    _Step(("sk-",), re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),  # OpenAI, DeepSeek...
    _Step(("eyj",), re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"), REDACTED),  # JWT
    _Step(
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})"),
        REDACTED,
    ),
    _Step(
        ("bearer",),
        re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/-]{8,}=*", re.IGNORECASE),
        rf"\g<1> {REDACTED}",
    ),
    _Step(
        ("authorization",),
        re.compile(
            r"""(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|bot)\s+)?)"""
            r"""[^\s'",}]+""",
            re.IGNORECASE,
        ),
        rf"\g<1>{REDACTED}",
    ),
    # `"password": "..."`, `api_key=...`, `X-Api-Key: ...` in JSON, dict reprs, headers:
    # a name ending in one of these words, then `:` or `=`.
    _Step(
        ("key", "token", "secret", "passw", "pwd"),
        re.compile(
            r"""((?:api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|token|secret|"""
            r"""passw(?:or)?d|pwd)["']?\s*[:=]\s*)(?:"[^"]*"|'[^']*'|[^\s,;&'"})\]]+)""",
            re.IGNORECASE,
        ),
        rf"\g<1>{REDACTED}",
    ),
]


def is_secret_name(name: str) -> bool:
    """Whether a setting, variable, header or flag name says it holds a secret."""
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def mask_url(text: str) -> str:
    """URLs in `text` with their password and secret query parameters replaced by `***`."""
    if "@" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    if "=" in text and any(word in text.lower() for word in _PARAM_WORDS):
        text = _SECRET_PARAM.sub(rf"\g<1>{MASK}", text)
    return text


class Redactor:
    """Replaces known secrets and secret-shaped text in a string; call it on each line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            for form in _forms(secret):
                if len(form) >= MIN_SECRET_LENGTH:
                    forms.add(form)
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(forms, key=lambda form: (-len(form), form))
        self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        text = self.known(text)
        lowered = text.lower()
        for step in _STEPS:
            if any(hint in lowered for hint in step.hints):
                text = step.pattern.sub(step.replacement, text)
        # Last, so credentials in URLs read `***` whichever step found them first.
        return mask_url(text)

    def known(self, text: str) -> str:
        """Only the configured secrets replaced: for our own messages, whose examples
        (`postgresql://user:pass@host/db`) the patterns would mask."""
        return self._known.sub(REDACTED, text) if self._known is not None else text


def _forms(secret: str) -> set[str]:
    """How a secret may appear in a line: as is, URL-encoded (paths, queries, forms),
    JSON-escaped, and, for one taken from a URL, decoded."""
    return {
        secret,
        unquote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    }


def secrets_in(value: object, name: str = "") -> set[str]:
    """Every secret inside a settings object: `SecretStr` values, credentials in URLs,
    values of secret-named fields, and MCP server headers, env values and args."""
    found: set[str] = set()
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for field, item in value:
            found |= secrets_in(item, field)
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= secrets_in(item, str(key))
            if isinstance(item, str) and (name == "headers" or (name == "env" and _opaque(item))):
                found |= _credential(item)
    elif isinstance(value, list | tuple):
        found |= _flag_values([str(item) for item in value])
        for item in value:
            found |= secrets_in(item, name)
    elif isinstance(value, str):
        found |= url_secrets(value)
        if is_secret_name(name):
            found |= _credential(value)
    return {secret for secret in found if secret.strip()}


def url_secrets(text: str) -> set[str]:
    """The password and secret query values of a URL, read leniently: a password with an
    unescaped `@` or `/` counts whole, however a parser would split it."""
    found: set[str] = set()
    scheme, sep, rest = text.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w+.-]*", scheme):
        return found
    before_query = rest.partition("?")[0]
    for userinfo in {rest.partition("@")[0], before_query.rpartition("@")[0]}:
        if ":" in userinfo and "@" in rest:
            found.add(userinfo.partition(":")[2])
    for match in _SECRET_PARAM.finditer(text):
        found.add(match.group(0)[len(match.group(1)) :])
    return found


def _credential(value: str) -> set[str]:
    """A header or env value, and the credential after an auth scheme (`Bearer abc`)."""
    found = {value}
    scheme, _, credential = value.partition(" ")
    if credential and scheme.lower() in {"bearer", "basic", "token", "bot"}:
        found.add(credential.strip())
    return found


def _opaque(value: str) -> bool:
    """Whether an env value under a plain name looks like a token all the same: long,
    letters and digits, no spaces or slashes. Words such as `production` and paths
    stay readable in the logs."""
    return (
        len(value) >= 16
        and not re.search(r"[\s/]", value)
        and bool(re.search(r"\d", value))
        and bool(re.search(r"[A-Za-z]", value))
    )


def _flag_values(args: list[str]) -> set[str]:
    """Values of secret-named command-line flags: `--token=abc` and `--token abc`."""
    found: set[str] = set()
    for index, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if not flag.startswith("-") or not is_secret_name(flag):
            continue
        if eq:
            found.add(value)
        elif index + 1 < len(args):
            found.add(args[index + 1])
    return found


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the whole text, message and traceback alike.

    Set on each handler: a `logging.Filter` would see records before their traceback is
    formatted, and a filter on the root logger misses records that libraries hand to
    their own loggers' handlers.
    """

    def __init__(self, inner: logging.Formatter, redact: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(self._inner.format(record))
