"""Why a call to the model endpoint failed, told apart so each place can point the right way.

A person in the chat, `chat -m`, `doctor` and the log all see the same judgement: the
service cannot be reached (refused, unknown host), it was too slow, it rejected the key,
it has no such model, the account is out of quota or rate-limited, the request was longer
than the model's context window, it broke (5xx), or it answered something unreadable. Each kind carries a sentence for the person and a fix
naming the setting to change; URLs are shown with their credentials masked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import httpx2
import openai

from bot.safety.redact import mask_url

# Kinds of failure (Failure.kind).
UNREACHABLE = "unreachable"
CONNECTION_LOST = "connection lost"
TIMEOUT = "timeout"
KEY_REJECTED = "key rejected"
MODEL_NOT_FOUND = "model not found"
QUOTA = "quota"
RATE_LIMITED = "rate limited"
SERVER_ERROR = "server error"
REFUSED_REQUEST = "request refused"
BAD_ANSWER = "bad answer"
CONTEXT_OVERFLOW = "context overflow"

_QUOTA_WORDS = ("insufficient_quota", "current quota", "insufficient balance", "billing")
_LOCAL_NAMES = {"localhost", "host.docker.internal", "ollama", "vllm"}
# How servers say a request is longer than the model's window. OpenAI's code; llama.cpp's
# server type (its body also carries `n_ctx`); the words of vLLM/OpenAI, llama-cpp-python's
# server and llama.cpp's. Ollama truncates silently and says nothing.
_OVERFLOW_CODES = ("context_length_exceeded", "exceed_context_size_error")
_OVERFLOW_WORDS = (
    "maximum context length",
    "exceed context window",
    "exceeds the available context size",
    "context_length_exceeded",
)
# The window's size where the text gives it: "maximum context length is 4096 tokens"
# (OpenAI, vLLM), "exceed context window of 2048" (llama-cpp-python).
_WINDOW_IN_TEXT = re.compile(
    r"(?:maximum context length is|context window of)\s*(\d+)", re.IGNORECASE
)


@dataclass(frozen=True)
class Failure:
    """One failed call, judged: `detail` for logs and records, `user_message` for the chat,
    `fix` for the operator (doctor, one-shot chat)."""

    kind: str
    detail: str
    user_message: str
    fix: str
    # CONTEXT_OVERFLOW only: the model's window in tokens, when the server said it.
    window: int | None = None
    # CONTEXT_OVERFLOW only: the prompt's size by the server's own count, when it said.
    prompt_tokens: int | None = None


def is_local(url: str) -> bool:
    """Whether the endpoint runs on this machine or this network (Ollama, vLLM, a compose
    service), where "is it running?" is the likely question."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOCAL_NAMES or host.endswith(".local") or ("." not in host and ":" not in host):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _running_hint(url: str) -> str:
    if not is_local(url):
        return ""
    port = urlsplit(url).port
    server = {11434: "Ollama", 8000: "vLLM"}.get(port or 0, "the model server (Ollama, vLLM…)")
    return f" Is {server} running?"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, outermost first (openai -> httpx -> aiohttp -> OS)."""
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    return chain


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def _is_quota(exc: openai.APIStatusError) -> bool:
    """Out of credit (OpenAI's 429 `insufficient_quota`, DeepSeek's 402 "Insufficient
    Balance"), as opposed to too many requests for now."""
    if exc.status_code == 402 or "insufficient_quota" in (exc.code, exc.type):
        return True
    text = _error_text(exc).lower()
    return any(words in text for words in _QUOTA_WORDS)


def _model_missing(exc: openai.APIStatusError) -> bool:
    if exc.status_code == 404:
        return True
    words = f"{exc.code} {_error_text(exc)}".lower()
    return (
        exc.status_code == 400 and "model" in words and ("not found" in words or "exist" in words)
    )


# The prompt's size by the server's tokenizer where the text gives it: "(5663 in the
# messages, ...)" (vLLM, llama-cpp-python), "your messages resulted in 4126 tokens" (OpenAI).
_PROMPT_IN_TEXT = re.compile(
    r"(?:\((\d+) in the messages|messages resulted in (\d+) tokens)", re.IGNORECASE
)


def overflow_prompt(exc: openai.APIStatusError) -> int | None:
    """The refused prompt's size in the server's tokens, when its error says."""
    body = exc.body if isinstance(exc.body, dict) else {}
    stated = body.get("n_prompt_tokens")
    if isinstance(stated, int) and stated > 0:
        return stated
    found = _PROMPT_IN_TEXT.search(_error_text(exc))
    return int(found.group(1) or found.group(2)) if found else None


def overflow_window(exc: openai.APIStatusError) -> tuple[bool, int | None]:
    """Whether the server refused the request as longer than the model's context window,
    and the window's size in tokens when the error gives it."""
    if exc.status_code not in (400, 413):
        return False, None
    text = _error_text(exc)
    codes = {str(exc.code), str(exc.type)}
    body = exc.body if isinstance(exc.body, dict) else {}
    if not codes & set(_OVERFLOW_CODES) and not any(w in text.lower() for w in _OVERFLOW_WORDS):
        return False, None
    window = body.get("n_ctx")
    if isinstance(window, int) and window > 0:
        return True, window
    found = _WINDOW_IN_TEXT.search(text)
    return True, int(found.group(1)) if found else None


def judge(exc: BaseException, *, base_url: str, model: str, timeout: float) -> Failure:
    """What `exc`, raised by a call to `model` at `base_url`, means to the person and
    to the operator."""
    url = mask_url(base_url).rstrip("/")
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, url=url, model=model)
    chain = _chain(exc)
    if any(_broken_connection(link) for link in chain):
        return _connection_failure(exc, url)
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | httpx2.TimeoutException):
        return Failure(
            TIMEOUT,
            f"no answer from {url} within {timeout:g} s",
            f"The model service at {url} took longer than {timeout:g} s to answer.",
            "try again; if the model is slow, raise CLAWLING_LLM_TIMEOUT or pick a faster "
            "CLAWLING_MODEL",
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError | aiohttp.ClientError):
        return _connection_failure(exc, url)
    return Failure(
        BAD_ANSWER,
        f"unreadable answer from {url}: {type(exc).__name__}: {exc}"[:500],
        "The model service sent an answer I could not read.",
        "check that OPENAI_BASE_URL is an OpenAI-compatible endpoint (often ending in /v1)",
    )


def _broken_connection(link: BaseException) -> bool:
    """An aiohttp connection error that is not a timeout (the transport reports some of
    these, read mid-answer, as httpx timeouts)."""
    return isinstance(link, aiohttp.ClientConnectionError) and not isinstance(
        link, aiohttp.ServerTimeoutError
    )


def _connection_failure(exc: BaseException, url: str) -> Failure:
    chain = _chain(exc)
    host = urlsplit(url).hostname or url
    if any(isinstance(e, socket.gaierror | aiohttp.ClientConnectorDNSError) for e in chain):
        what = f"DNS does not know the host {host}"
    elif any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(getattr(e, "os_error", None), ConnectionRefusedError) for e in chain
    ):
        what = "connection refused"
    elif any(isinstance(e, httpx2.ConnectError | aiohttp.ClientConnectorError) for e in chain):
        cause = chain[-1]
        what = " ".join(str(cause).split()) or type(cause).__name__
    else:
        # Connected, then the connection broke (a crash, a proxy's limit, a reset).
        cause = chain[-1]
        return Failure(
            CONNECTION_LOST,
            f"connection to {url} broke off: {' '.join(str(cause).split())}"[:500],
            f"The connection to the model service at {url} broke off before the answer "
            "was complete; try again.",
            "try again; if it keeps happening, check the model server's logs (a crash, or "
            "out of memory) and any proxy between",
        )
    return Failure(
        UNREACHABLE,
        f"can't reach {url}: {what}"[:500],
        f"I can't reach the model service at {url} ({what}).{_running_hint(url)}",
        f"start the model server, or correct OPENAI_BASE_URL (now {url})",
    )


def _status_failure(exc: openai.APIStatusError, *, url: str, model: str) -> Failure:
    status = exc.status_code
    detail = f"HTTP {status} from {url}: {_error_text(exc)}"[:500]
    if status in (401, 403):
        return Failure(
            KEY_REJECTED,
            detail,
            f"The model service at {url} rejected our API key (HTTP {status}), "
            "so I can't answer right now.",
            f"check OPENAI_API_KEY: it must be a valid key for {url}",
        )
    overflow, window = overflow_window(exc)
    if overflow:
        return Failure(
            CONTEXT_OVERFLOW,
            detail,
            "This conversation grew longer than the model can read at once. I kept your "
            "message; send it again and I will answer from a shorter context.",
            "set CLAWLING_MODEL_CONTEXT_TOKENS (or CLAWLING_CONTEXT_TOKENS) to the model's "
            "real window, or give the model server a larger one",
            window,
            overflow_prompt(exc),
        )
    if _model_missing(exc):
        return Failure(
            MODEL_NOT_FOUND,
            detail,
            f"The model service at {url} has no model named {model!r}.",
            "set CLAWLING_MODEL to a model the endpoint offers, and check that "
            "OPENAI_BASE_URL points at the API (often ending in /v1)",
        )
    if status in (402, 429) and _is_quota(exc):
        return Failure(
            QUOTA,
            detail,
            "The model service says our account is out of quota or credit, "
            "so I can't answer until that is fixed.",
            "add credit or raise the quota at the provider, or use another OPENAI_API_KEY",
        )
    if status == 429:
        return Failure(
            RATE_LIMITED,
            detail,
            "The model service is rate-limiting us right now; try again in a minute.",
            "wait a minute; if it keeps happening, lower CLAWLING_MAX_CONCURRENT_TURNS or "
            "raise the provider's rate limit",
        )
    if status >= 500:
        return Failure(
            SERVER_ERROR,
            detail,
            f"The model service had an internal error (HTTP {status}); try again in a while.",
            "try again later; if it persists, check the model server's own logs or status page",
        )
    return Failure(
        REFUSED_REQUEST,
        detail,
        f"The model service refused the request (HTTP {status}).",
        "see the error above; the log has the request's details",
    )


def with_models(failure: Failure, offered: list[str] | None) -> Failure:
    """A model-not-found failure completed with what the endpoint offers (GET /models)."""
    if failure.kind != MODEL_NOT_FOUND or not offered:
        return failure
    shown = ", ".join(offered[:15]) + (", …" if len(offered) > 15 else "")
    return Failure(
        failure.kind,
        f"{failure.detail} (it offers: {shown})",
        f"{failure.user_message} It offers: {shown}.",
        f"set CLAWLING_MODEL to one of: {shown}",
    )


def model_ids(listing: object) -> list[str]:
    """Model ids from a GET /models answer (`{"data": [{"id": ...}]}`; Ollama's
    `{"models": [{"name": ...}]}` too); [] when it is neither."""
    if isinstance(listing, str | bytes):
        try:
            listing = json.loads(listing)
        except ValueError:
            return []
    if not isinstance(listing, dict):
        return []
    entries = listing.get("data") or listing.get("models") or []
    ids = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            name = entry.get("id") or entry.get("name")
            if isinstance(name, str):
                ids.append(name)
    return sorted(ids)
