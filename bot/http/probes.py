"""Asking the model endpoint whether it answers, for `clawling doctor` and the dashboard's
Health page: one completion of a few tokens, not recorded (the database may be what is
broken, or not exist yet), judged like every other call (bot/llm/failures.py), so the
answer names the problem and its fix."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from openai import AsyncOpenAI

from bot.llm.client import LLM, LLMError
from bot.safety.redact import mask_url
from bot.settings import Settings


@dataclass(frozen=True)
class Probe:
    """Whether the endpoint answered, what happened, and what to do when it did not."""

    ok: bool
    detail: str
    fix: str = ""


async def probe_model(
    settings: Settings, client: AsyncOpenAI, *, within: float | None = None
) -> Probe:
    """Ask the configured models for "ok"; `within` seconds at most when given."""
    problem = settings.llm_problem()
    if problem:
        return Probe(False, "not configured", problem)
    endpoint = mask_url(settings.openai.base_url)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(within):
            probe = LLM(client, settings.models)
            await probe.complete([{"role": "user", "content": "Reply with: ok"}], max_tokens=5)
    except LLMError as exc:
        return Probe(False, exc.failure.detail, exc.failure.fix)
    except TimeoutError:
        return Probe(
            False,
            f"{endpoint} did not answer within {within:g} s",
            "check that the model server is running and reachable at OPENAI_BASE_URL",
        )
    return Probe(True, f"{endpoint} answered in {time.perf_counter() - started:.1f} s")
