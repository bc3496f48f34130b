"""How real OpenAI-compatible servers behave, applied to the fake one.

Clawling talks to whatever serves `/v1/chat/completions`, and the servers people
run at home differ from OpenAI in ways that broke whole conversations: one never
calls a tool unless `tool_choice` is sent, one cannot stream a tool call, one
answers an over-long prompt with an empty stream, another cuts the prompt short
without a word. A personality is a short, documented list of such habits, put on a
`FakeOpenAI` through its hooks (`intercept`: the server's own answer before the
model's; `view`: what the model sees of a request; `reshape`: what the server makes
of the model's reply; `props`, `ollama_show`, `models_fields`, `embedding_of`). Everything the
fake records as `requests` is what Clawling sent; `seen` is what the model saw.

Sizes are counted crudely (`prompt_tokens`: four characters of the request's JSON
a token), the same way the fake reports usage, so a window here is comparable with
the fake's own figures, not with a real tokenizer's.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tests.fakes.openai_server import FakeOpenAI, Reply, canonical, hashed_words

# The tests' window. llama-cpp-python's default n_ctx is 2048, but Clawling's tool
# schemas alone are about 1,750 tokens by this count: 4096 leaves room for a conversation
# while still being several times smaller than the 30-turn test's.
WINDOW = 4096


def prompt_tokens(request: dict[str, Any]) -> int:
    """The request's size by the fake's crude count (its JSON's characters / 4)."""
    return len(canonical(request)) // 4


def requested_tokens(request: dict[str, Any]) -> int:
    """The prompt plus the answer room asked for (`max_tokens`), as servers check it."""
    room = request.get("max_tokens") or request.get("max_completion_tokens") or 0
    return prompt_tokens(request) + (room if isinstance(room, int) else 0)


def overflow(message: str, code: str | None = None) -> Reply:
    """A 400 answer to a prompt over the window."""
    return Reply(status=400, error_message=message, error_code=code)


@dataclass(frozen=True)
class Personality(ABC):
    """A server's habits; `apply` puts them on a fake server."""

    name: str
    window: int = WINDOW

    @abstractmethod
    def apply(self, fake: FakeOpenAI) -> FakeOpenAI: ...


@dataclass(frozen=True)
class LlamaCpp(Personality):
    """llama-cpp-python's server (and llama.cpp's, where they agree), as 0.3.x behaves.

    - Tools are used only with an explicit `tool_choice`; without one it behaves as
      "none" (the model answers in text and never calls a tool).
    - With tools and a `tool_choice` other than "none" it cannot stream: the stream
      holds only keep-alive comments (`: ping`) and ends, with no text or tool call.
    - `stream_options` is ignored: streams carry no usage (plain answers do).
    - Over the window (`n_ctx`) a plain request gets 400 "Requested tokens (N) exceed
      context window of W"; a streamed one gets 200 and an empty stream.
    - `"content": null` in any message is a validation error, answered 500.
    - The chat template keeps only a first system message; later ones never reach
      the model.
    - Embeddings come one vector per token (a list of vectors per input).
    - `GET /props` tells the window as `default_generation_settings.n_ctx`.
    """

    name: str = "llama.cpp"

    def apply(self, fake: FakeOpenAI) -> FakeOpenAI:
        fake.intercept = self._intercept
        fake.view = _first_system_only
        fake.reshape = _tools_need_a_choice
        fake.embedding_of = lambda text: [hashed_words(word) for word in text.split() or [""]]
        settings = {"n_ctx": self.window, "model": "model.gguf"}
        fake.props = {"default_generation_settings": settings, "total_slots": 1}
        return fake

    def _intercept(self, request: dict[str, Any]) -> Reply | None:
        if any("content" in m and m["content"] is None for m in request["messages"]):
            return Reply(
                status=500,
                error_message="1 validation error: messages.content Input should be a valid string",
            )
        asked = requested_tokens(_first_system_only(request))
        if asked <= self.window:
            return None
        if request.get("stream"):
            return Reply(raw_stream="")
        return overflow(
            f"Requested tokens ({asked}) exceed context window of {self.window}",
            "context_length_exceeded",
        )


def _first_system_only(request: dict[str, Any]) -> dict[str, Any]:
    """The request as the ChatML template renders it: later system messages dropped,
    `stream_options` ignored."""
    messages = [m for i, m in enumerate(request["messages"]) if m.get("role") != "system" or i == 0]
    seen = {k: v for k, v in request.items() if k != "stream_options"}
    return {**seen, "messages": messages}


def _tools_need_a_choice(request: dict[str, Any], reply: Reply) -> Reply:
    choice = request.get("tool_choice")
    if not request.get("tools") or choice == "none" or choice is None:
        if reply.tool_calls:  # asked to call a tool, the model can only write
            return Reply(text=reply.text or "I would use a tool here, but I cannot.")
        return reply
    if request.get("stream"):
        return Reply(raw_stream=": ping\n\n: ping\n\n")
    return reply


@dataclass(frozen=True)
class VLLM(Personality):
    """vLLM's OpenAI-compatible server.

    - Over the window: 400 (`code` 400) "This model's maximum context length is W
      tokens. However, you requested N tokens (P in the messages, C in the
      completion). ..." (later versions: "... W tokens and your request has N input
      tokens ..."; both start the same way).
    - `GET /v1/models` lists `max_model_len` with each model.
    - Tool calls stream in fragments; usage is in a stream only when
      `stream_options.include_usage` asks for it (the fake's default).
    """

    name: str = "vLLM"

    def apply(self, fake: FakeOpenAI) -> FakeOpenAI:
        fake.models_fields = {"owned_by": "vllm", "max_model_len": self.window}
        fake.intercept = self._intercept
        return fake

    def _intercept(self, request: dict[str, Any]) -> Reply | None:
        prompt, asked = prompt_tokens(request), requested_tokens(request)
        if asked <= self.window:
            return None
        return overflow(
            f"This model's maximum context length is {self.window} tokens. However, you "
            f"requested {asked} tokens ({prompt} in the messages, {asked - prompt} in the "
            "completion). Please reduce the length of the messages or completion."
        )


@dataclass(frozen=True)
class Ollama(Personality):
    """Ollama's OpenAI-compatible endpoint (`/v1`, no key needed).

    - Over the window (`num_ctx`) it answers anyway: the oldest messages after the
      system ones are dropped until the rest fits, without a word.
    - `POST /api/show` (outside `/v1`) gives `model_info["<arch>.context_length"]`.
      (A real Ollama reports there the length the model was trained for; the window
      it serves is `num_ctx`, which it shows in `parameters` when set. Here both are
      the window.)
    - Usage in streams (with `stream_options`); a tool call streams whole, in one chunk.
    """

    name: str = "Ollama"

    def apply(self, fake: FakeOpenAI) -> FakeOpenAI:
        fake.view = self._truncated
        fake.reshape = lambda _request, reply: replace(reply, whole_tool_calls=True)
        info = {"general.architecture": "llama", "llama.context_length": self.window}
        fake.ollama_show = {
            "model_info": info,
            "parameters": f"num_ctx {self.window}",
            "details": {},
        }
        return fake

    def _truncated(self, request: dict[str, Any]) -> dict[str, Any]:
        messages = list(request["messages"])
        while prompt_tokens({**request, "messages": messages}) > self.window:
            droppable = [i for i, m in enumerate(messages[:-1]) if m.get("role") != "system"]
            if not droppable:
                break
            del messages[droppable[0]]
        return {**request, "messages": messages}


@dataclass(frozen=True)
class OpenAI(Personality):
    """OpenAI itself: the fake's default behaviour, and over the window a 400 with the
    code `context_length_exceeded`."""

    name: str = "OpenAI"

    def apply(self, fake: FakeOpenAI) -> FakeOpenAI:
        fake.intercept = self._intercept
        return fake

    def _intercept(self, request: dict[str, Any]) -> Reply | None:
        asked = requested_tokens(request)
        if asked <= self.window:
            return None
        return overflow(
            f"This model's maximum context length is {self.window} tokens. However, your "
            f"messages resulted in {asked} tokens. Please reduce the length of the messages.",
            "context_length_exceeded",
        )


PERSONALITIES: dict[str, Callable[[int], Personality]] = {
    "llama.cpp": lambda window: LlamaCpp(window=window),
    "vllm": lambda window: VLLM(window=window),
    "ollama": lambda window: Ollama(window=window),
    "openai": lambda window: OpenAI(window=window),
}


def personality(name: str, window: int = WINDOW) -> Personality:
    """The personality called `name` (a key of PERSONALITIES) with that window."""
    try:
        return PERSONALITIES[name.lower()](window)
    except KeyError:
        known = ", ".join(PERSONALITIES)
        raise ValueError(f"unknown personality {name!r}; known: {known}") from None


def describe(request: dict[str, Any]) -> str:
    """A one-line account of a request, for failure messages."""
    roles = Counter(str(m.get("role")) for m in request["messages"])
    return json.dumps(
        {
            "messages": dict(roles),
            "tokens": prompt_tokens(request),
            "stream": bool(request.get("stream")),
            "tool_choice": request.get("tool_choice"),
        }
    )
