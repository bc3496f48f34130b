"""How the model client speaks HTTP: openai's aiohttp transport, with connection
errors reported honestly."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx2
from openai import AsyncOpenAI, DefaultAioHttpClient


def make_client(
    base_url: str, api_key: str | None, *, timeout: float, max_retries: int
) -> AsyncOpenAI:
    """An AsyncOpenAI client; endpoints without keys (Ollama, vLLM) get a placeholder.

    It speaks HTTP through the client's aiohttp transport (`openai[aiohttp]`):
    aiohttp parses responses in C, where the default httpx stack parses every
    streamed chunk in Python; about 1 ms of CPU per model call
    (bench/turn_overhead.py). Retries, timeouts and errors stay the client's."""
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=max_retries,
        http_client=_AioHttpClient(),
    )


class _HonestConnectErrors(httpx2.AsyncBaseTransport):
    """The aiohttp transport, with a refused connection or an unknown host reported as
    a connection error.

    The transport maps aiohttp's exceptions to httpx's by the first matching base class,
    and `ClientConnectionError` (the base of refused, DNS and reset errors) maps to
    `ConnectTimeout`, so openai raised `APITimeoutError` and a stopped Ollama read as
    "took too long". Only a real timeout stays a timeout here.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx2.ConnectTimeout as exc:
            cause = exc.__cause__
            timed_out = isinstance(cause, aiohttp.ServerTimeoutError | TimeoutError)
            if cause is None or timed_out:
                raise
            raise httpx2.ConnectError(str(exc), request=request) from cause

    async def aclose(self) -> None:
        await self._inner.aclose()


class _AioHttpClient(DefaultAioHttpClient):
    """openai's aiohttp client with every transport it makes wrapped in
    `_HonestConnectErrors` (these two hooks are where it makes them)."""

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _HonestConnectErrors(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _HonestConnectErrors(super()._init_proxy_transport(*args, **kwargs))
