"""How many tokens a model can read at once, and how our estimates compare with its count.

The window is taken, first match wins, from: a per-model setting
(`CLAWLING_MODEL_CONTEXT_TOKENS`), the global `CLAWLING_CONTEXT_TOKENS`, what the
endpoint says about itself (vLLM's `max_model_len` and others' `context_length` /
`context_window` in `GET /models`, llama.cpp's `GET /props`, Ollama's `POST /api/show`),
what an earlier overflow error said (llama-cpp-python's server states it nowhere else),
remembered in the database, and last 32,000. An overflow error seen while running
replaces the value for this process and is remembered for the next.

Estimates (characters ÷ 4) are calibrated per model: after each call the ratio of the
`prompt_tokens` the endpoint reports to our estimate of that request moves the model's
ratio (an average over recent calls), which budgeting multiplies estimates by. German,
code, Russian or Chinese text count 1.5–8 times more tokens than English on small
models' tokenizers; without this their window would overflow at every turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from memory.windows import KnownWindow

log = logging.getLogger(__name__)

DEFAULT_CONTEXT_TOKENS = 32_000
# The reply's token cap while no setting gives one (CLAWLING_MAX_OUTPUT_TOKENS).
DEFAULT_OUTPUT_TOKENS = 2_048
# Fields of a GET /models entry that give the window (vLLM, OpenRouter, others).
MODEL_FIELDS = ("max_model_len", "context_length", "context_window", "max_context_length")
# How far one call moves the ratio (an exponential average), and its bounds.
RATIO_WEIGHT = 0.3
RATIO_BOUNDS = (0.5, 12.0)
# The ratio is written to the database only when it moved by more than this.
RATIO_SAVE_STEP = 0.05

# Fetch JSON from the endpoint's server: GET `url`, or POST `body` to it; None when the
# server answers an error status. Raises when the server cannot be reached.
Fetch = Callable[[str, dict[str, Any] | None], Awaitable[object | None]]


class WindowMemory(Protocol):
    """Where windows and ratios are remembered (memory/windows.py)."""

    async def get(self, base_url: str, model: str) -> KnownWindow | None: ...
    async def save_window(self, base_url: str, model: str, tokens: int, source: str) -> None: ...
    async def save_ratio(self, base_url: str, model: str, ratio: float) -> None: ...


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def window_from_models(listing: object, model: str) -> int | None:
    """The window of `model` in a GET /models answer, when its entry states one."""
    entries = listing.get("data") if isinstance(listing, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            for name in MODEL_FIELDS:
                found = _positive(entry.get(name))
                if found:
                    return found
            provider = entry.get("top_provider")
            if isinstance(provider, dict):
                return _positive(provider.get("context_length"))
    return None


def window_from_props(props: object) -> int | None:
    """llama.cpp's server: `default_generation_settings.n_ctx` of GET /props."""
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    found = _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
    return found or _positive(props.get("n_ctx"))


def window_from_ollama(show: object) -> int | None:
    """Ollama's POST /api/show: a `num_ctx` parameter when the model sets one (Ollama
    truncates there), else `model_info["<arch>.context_length"]`."""
    if not isinstance(show, dict):
        return None
    parameters = show.get("parameters")
    for line in parameters.splitlines() if isinstance(parameters, str) else []:
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip()) or None
    info = show.get("model_info")
    for key, value in info.items() if isinstance(info, dict) else []:
        if key.endswith(".context_length"):
            return _positive(value)
    return None


def server_root(base_url: str) -> str:
    """The server's own root: llama.cpp's /props and Ollama's /api/show are not under /v1."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass
class _Model:
    window: int
    source: str
    ratio: float = 1.0
    saved_ratio: float = 1.0


class ModelWindows:
    """The context window and the token ratio of each model at one endpoint."""

    def __init__(
        self,
        base_url: str,
        fetch: Fetch,
        memory: WindowMemory | None,
        *,
        override: int | None = None,
        per_model: dict[str, int] | None = None,
        default: int = DEFAULT_CONTEXT_TOKENS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._fetch = fetch
        self._memory = memory
        self._override = override
        self._per_model = dict(per_model or {})
        self._default = default
        self._models: dict[str, _Model] = {}
        self._lock = asyncio.Lock()

    async def window(self, model: str) -> int:
        """The model's context window in tokens (looked up once per process)."""
        known = self._models.get(model) or await self._load(model)
        return known.window

    def ratio(self, model: str) -> float:
        """Real tokens per estimated token for `model` (1.0 until calibrated)."""
        known = self._models.get(model)
        return known.ratio if known is not None else 1.0

    def source(self, model: str) -> str:
        """Where the window came from: setting, models, props, ollama, error, default."""
        known = self._models.get(model)
        return known.source if known is not None else ""

    async def learn(self, model: str, tokens: int) -> None:
        """An overflow error stated (or implied) the window: use it from now on, and
        remember it unless a setting fixes the window anyway."""
        known = self._models.get(model) or await self._load(model)
        if known.source == "setting" or tokens <= 0 or tokens == known.window:
            return
        log.info("model %s: context window is %d tokens (was %d)", model, tokens, known.window)
        known.window, known.source = tokens, "error"
        if self._memory is not None:
            await self._memory.save_window(self.base_url, model, tokens, "error")

    async def overflowed(
        self, model: str, estimated: int, output: int, counted: int | None = None
    ) -> None:
        """A request estimated at `estimated` tokens (plus `output` for the reply) was
        refused as over the window: the tokenizer counts at least window/estimate more
        than we thought, so the ratio rises to just past that at once. When the server
        said how many tokens the prompt was (`counted`), the ratio is that, exactly: a
        server that writes the tool schemas into the prompt in its own, longer form
        (llama-cpp-python) counts several times what their JSON suggests."""
        known = self._models.get(model) or await self._load(model)
        if estimated <= 0:
            return
        low, high = RATIO_BOUNDS
        at_least = min(high, 1.1 * (known.window - output) / estimated)
        if counted:
            at_least = max(at_least, min(high, 1.05 * counted / estimated))
        if at_least > known.ratio:
            known.ratio = known.saved_ratio = max(low, at_least)
            if self._memory is not None:  # a restart plans as this process now does
                await self._memory.save_ratio(self.base_url, model, round(known.ratio, 4))

    async def observe(self, model: str, estimated: int, reported: int) -> None:
        """A call's estimated prompt size against the `prompt_tokens` the endpoint reported."""
        if estimated <= 0 or reported <= 0:
            return
        known = self._models.get(model) or await self._load(model)
        low, high = RATIO_BOUNDS
        seen = min(high, max(low, reported / estimated))
        known.ratio += RATIO_WEIGHT * (seen - known.ratio)
        if abs(known.ratio - known.saved_ratio) > RATIO_SAVE_STEP * known.saved_ratio:
            known.saved_ratio = known.ratio
            if self._memory is not None:
                await self._memory.save_ratio(self.base_url, model, round(known.ratio, 4))

    async def _load(self, model: str) -> _Model:
        async with self._lock:
            if model in self._models:
                return self._models[model]
            remembered = (
                await self._memory.get(self.base_url, model) if self._memory is not None else None
            )
            window, source = await self._decide(model, remembered)
            ratio = remembered.token_ratio if remembered and remembered.token_ratio else 1.0
            known = _Model(window, source, ratio, ratio)
            if source not in ("setting", "default") and self._memory is not None:
                if remembered is None or remembered.context_tokens != window:
                    await self._memory.save_window(self.base_url, model, window, source)
            log.info("model %s: context window %d tokens (from %s)", model, window, source)
            self._models[model] = known
            return known

    async def _decide(self, model: str, remembered: KnownWindow | None) -> tuple[int, str]:
        if model in self._per_model:
            return self._per_model[model], "setting"
        if self._override is not None:
            return self._override, "setting"
        discovered = await self.discover(model)
        if discovered is not None:
            return discovered
        if remembered is not None and remembered.context_tokens:
            return remembered.context_tokens, remembered.source or "remembered"
        return self._default, "default"

    async def discover(self, model: str) -> tuple[int, str] | None:
        """Ask the endpoint: GET /models, llama.cpp's GET /props, Ollama's POST /api/show.
        None when none of them says (or the server cannot be reached)."""
        root = server_root(self.base_url)
        probes: list[tuple[str, str, dict[str, Any] | None, Callable[[object], int | None]]] = [
            ("models", f"{self.base_url}/models", None, lambda j: window_from_models(j, model)),
            ("props", f"{root}/props", None, window_from_props),
            ("ollama", f"{root}/api/show", {"model": model}, window_from_ollama),
        ]
        for source, url, body, read in probes:
            try:
                answer = await self._fetch(url, body)
            except Exception as exc:  # best effort: an unreachable server is judged elsewhere
                log.info("could not ask %s for the context window: %s", url, type(exc).__name__)
                return None
            found = read(answer) if answer is not None else None
            if found:
                return found, source
        return None
