"""Bot API calls that survive flood control and brief network trouble.

A 429 says exactly when to try again, and the request was not carried out, so
it is always retried (up to a total wait). Connection failures are retried with
backoff. A request that creates a message is not retried when it may have
reached Telegram (a read timeout, a dropped connection): a second try could
post it twice.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.errors import TransportError

log = logging.getLogger(__name__)

# PTB warns about a future type change of `retry_after` each time it reports a 429;
# retry_after_seconds() below handles both types.
warnings.filterwarnings("ignore", r".*`retry_after`", PTBDeprecationWarning)

T = TypeVar("T")

NOT_DELIVERED = "Telegram did not accept my reply."


class Rejected(TransportError):
    """Telegram refused the request itself (400/403); retrying would not help."""

    def __init__(self, what: str, description: str) -> None:
        super().__init__(f"{what}: {description}", NOT_DELIVERED)
        self.description = description

    def says(self, *fragments: str) -> bool:
        text = self.description.lower()
        return any(fragment in text for fragment in fragments)


class Flooded(TransportError):
    """Flood control, for a request that was not to be retried (progress previews)."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: flood control ({seconds:.0f}s)", NOT_DELIVERED)
        self.seconds = seconds


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries per call for network errors
    backoff: float = 0.5  # seconds before the 2nd try; doubles each time
    max_backoff: float = 8.0
    max_flood_wait: float = 900.0  # total seconds of 429 waits before giving up


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, whichever type this PTB version reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 0.05)


def _maybe_carried_out(exc: NetworkError) -> bool:
    """Whether Telegram may have carried out a request that failed here."""
    cause = exc.__cause__
    if cause is None:
        return False  # Telegram answered, with an error status
    # Only these mean the request never reached Telegram.
    return type(cause).__name__ not in {"ConnectError", "ConnectTimeout", "PoolTimeout"}


async def call(
    what: str,
    request: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    creates_message: bool = False,
    retry_floods: bool = True,
) -> T:
    """Run one Bot API request with retries; TransportError (or Rejected) when it fails."""
    flood_waited = 0.0
    failures = 0
    while True:
        try:
            return await request()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if not retry_floods or flood_waited + wait > policy.max_flood_wait:
                raise Flooded(what, wait) from exc
            flood_waited += wait
            log.info("%s: flood control, retrying in %.1fs", what, wait)
            await asyncio.sleep(wait)
        except (BadRequest, Forbidden, ChatMigrated) as exc:
            raise Rejected(what, exc.message) from exc
        except NetworkError as exc:
            failures += 1
            if (creates_message and _maybe_carried_out(exc)) or failures >= policy.attempts:
                raise TransportError(f"{what}: {exc.message}", NOT_DELIVERED) from exc
            await _backoff(what, exc, failures, policy)
        except TelegramError as exc:
            raise TransportError(f"{what}: {exc.message}", NOT_DELIVERED) from exc


async def _backoff(what: str, exc: TelegramError, failures: int, policy: RetryPolicy) -> None:
    delay = min(policy.backoff * 2 ** (failures - 1), policy.max_backoff)
    log.warning("%s failed (%s); try %d in %.1fs", what, exc.message, failures + 1, delay)
    await asyncio.sleep(delay)
