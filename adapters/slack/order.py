"""Small bookkeeping for the Slack adapter: bounded caches and per-conversation order."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

CACHE_SIZE = 5_000


class Cache(OrderedDict[Any, Any]):
    """Keeps the most recently remembered CACHE_SIZE entries."""

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > CACHE_SIZE:
            self.popitem(last=False)


class InOrder:
    """One FIFO lock per conversation, so its messages are handed on in arrival order.

    join() is called when an event arrives (synchronously, so arrival order is the
    order of the lock's queue); leave() when its work is done.
    """

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    def join(self, key: tuple[str, str]) -> asyncio.Lock:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return lock

    def leave(self, key: tuple[str, str]) -> None:
        lock, users = self._locks[key]
        if users <= 1:
            del self._locks[key]
        else:
            self._locks[key] = (lock, users - 1)
