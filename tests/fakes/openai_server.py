"""A scriptable OpenAI-compatible server on 127.0.0.1, for the real `openai` client.

It speaks the chat-completions API over real HTTP: JSON and SSE streaming,
tool calls (streamed in fragments, as real providers do), usage with cached
prompt tokens, and faults (HTTP errors with retry-after and error codes, delays, garbage), and the
list of models (GET /models). Small-window switches (`context_window`, `overflow_style`,
`token_scale`, `models_fields`, `props`, `ollama_show`) make it behave like a local server
with a small window: it refuses over-window requests the way each server does and
describes its window where each server does.

Scripted replies are served in order; when the script is empty a responder
function answers (by default an echo of the last user message). The server runs
in its own thread and event loop, so sync tests and subprocesses can use it too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    """One scripted answer. Leave everything default for an echo."""

    text: str = ""
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)  # (name, args dict or raw str)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None  # sent as-is with status 200: garbage, truncated JSON...
    delay: float = 0.0  # seconds before answering
    hold_until_in_flight: int = 0  # wait (up to 10 s) until this many were open at once
    chunk_chars: int = 8  # streamed text/arguments come in pieces this long
    chunk_delay: float = 0.0  # seconds between streamed pieces
    error_message: str = "fake error"
    error_code: str | None = None  # the error's `code` and `type` (default: the status)
    cut_after: int | None = None  # streamed: drop the connection after this many chunks


Responder = Callable[[dict[str, Any]], Reply]
Embedder = Callable[[str], list[float]]
EMBEDDING_SIZE = 64


def hashed_words(text: str) -> list[float]:
    """A deterministic bag-of-words vector: each word adds 1 to a hashed slot."""
    vector = [0.0] * EMBEDDING_SIZE
    for word in text.lower().split():
        vector[zlib.crc32(word.strip(".,!?").encode()) % EMBEDDING_SIZE] += 1.0
    return vector


NOTE_START = "<clawling_note>"


def without_note(text: str) -> str:
    """A user message's text without the volatile note Clawling adds at its end."""
    return text.split(NOTE_START, 1)[0].rstrip()


def note_of(request: dict[str, Any]) -> str:
    """The volatile note of a request (time, recalled notes), or ""."""
    for message in reversed(request["messages"]):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            if NOTE_START in content:
                return content.split(NOTE_START, 1)[1].split("</clawling_note>")[0].strip()
    return ""


def user_texts(request: dict[str, Any]) -> list[Any]:
    """The contents of the request's user messages, the note left out."""
    return [
        without_note(m["content"]) if isinstance(m["content"], str) else m["content"]
        for m in request["messages"]
        if m["role"] == "user"
    ]


def last_user_text(request: dict[str, Any]) -> str:
    """What the person wrote last, without the note."""
    for message in reversed(request["messages"]):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return without_note(str(content))
    return ""


def echo(request: dict[str, Any]) -> Reply:
    """Echo the last user message; after tool results, report the last result."""
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    if last["role"] == "tool":
        return Reply(text=f"tool said: {last['content'][:200]}")
    return Reply(text=f"echo: {last_user_text(request)}")


def canonical(request: dict[str, Any]) -> str:
    """The prompt as a provider would see it: tool schemas, then messages."""
    return json.dumps(
        {"tools": request.get("tools", []), "messages": request["messages"]},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class FakeOpenAI:
    """The fake server. Use as a context manager or call start()/stop()."""

    def __init__(self, responder: Responder = echo) -> None:
        self.responder = responder
        self.embedder: Embedder = hashed_words
        self.embedding_status = 200  # set e.g. 503 to make /v1/embeddings fail
        self.embedding_requests: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        # What GET /v1/models lists; None answers it with 404 (as some servers do).
        self.models: list[str] | None = ["fake-model"]
        self.script: deque[Reply] = deque()
        # Small windows; each switch alone, combine freely (tests/bot/llm/test_window.py):
        self.context_window: int | None = None  # refuse requests over this many tokens
        self.overflow_style = "openai"  # how: "openai", "vllm", "llama_cpp_python", "llama_cpp"
        self.token_scale = 1.0  # tokens per (chars ÷ 4): a tokenizer counting more (German 1.5)
        self.models_fields: dict[str, Any] = {}  # extras on /v1/models entries: max_model_len...
        self.props: dict[str, Any] | None = None  # GET /props (llama.cpp's server); None: 404
        self.ollama_show: dict[str, Any] | None = None  # POST /api/show (Ollama); None: 404
        self.info_requests: list[str] = []  # paths asked of /v1/models, /props, /api/show
        self.overflows = 0  # requests refused as over the window
        self._previous_prompt = ""
        self.in_flight = 0
        self.max_in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- control -------------------------------------------------------------

    def add(self, *replies: Reply) -> None:
        self.script.extend(replies)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- server --------------------------------------------------------------

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/props", self._props)
        app.router.add_post("/api/show", self._show)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        refused = self._over_window(request, body)
        if refused is not None:
            return await refused
        reply = self.script.popleft() if self.script else self.responder(body)
        deadline = time.monotonic() + 10
        while self.max_in_flight < reply.hold_until_in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            code = reply.error_code or reply.status
            payload = {
                "error": {
                    "message": reply.error_message,
                    "type": reply.error_code or "fake",
                    "code": code,
                }
            }
            return web.json_response(payload, status=reply.status, headers=reply.headers)
        if reply.raw_body is not None:
            return web.Response(text=reply.raw_body, content_type="application/json")
        usage = self._usage(body, reply)
        if body.get("stream"):
            return await self._stream(request, body, reply, usage)
        return web.json_response(self._completion(body, reply, usage))

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        """The request's prompt in "tokens": characters ÷ 4 of its canonical form, times
        `token_scale` (the same count its usage reports)."""
        return int(len(canonical(body)) / 4 * self.token_scale)

    def _over_window(self, request: web.Request, body: dict[str, Any]) -> Any:
        """The refusal of a request longer than `context_window` (prompt plus max_tokens,
        llama.cpp's server counts the prompt only), in `overflow_style`; None if it fits."""
        if self.context_window is None:
            return None
        prompt = self.prompt_tokens(body)
        style = self.overflow_style
        asked = prompt + (0 if style == "llama_cpp" else int(body.get("max_tokens") or 0))
        if asked <= self.context_window:
            return None
        self.overflows += 1
        window = self.context_window
        if style == "llama_cpp_python" and body.get("stream"):
            return self._empty_stream(request)  # what it really does: 200, nothing
        payload: dict[str, Any]
        if style == "vllm":
            payload = {
                "object": "error",
                "message": f"This model's maximum context length is {window} tokens. However, "
                f"you requested {asked} tokens ({prompt} in the messages, {asked - prompt} in "
                "the completion). Please reduce the length of the messages or completion.",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        elif style == "llama_cpp_python":
            error = f"Requested tokens ({asked}) exceed context window of {window}"
            payload = {
                "error": {
                    "message": error,
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            }
        elif style == "llama_cpp":
            payload = {
                "error": {
                    "code": 400,
                    "type": "exceed_context_size_error",
                    "message": "the request exceeds the available context size, try increasing it",
                    "n_prompt_tokens": prompt,
                    "n_ctx": window,
                }
            }
        else:
            error = (
                f"This model's maximum context length is {window} tokens. However, your "
                f"messages resulted in {asked} tokens. Please reduce the length of the messages."
            )
            payload = {
                "error": {
                    "message": error,
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            }
        return self._json(payload, 400)

    @staticmethod
    async def _json(payload: dict[str, Any], status: int) -> web.Response:
        return web.json_response(payload, status=status)

    @staticmethod
    async def _empty_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write_eof()
        return response

    async def _props(self, request: web.Request) -> web.Response:
        self.info_requests.append(request.path)
        if self.props is None:
            return web.json_response({"error": {"message": "not found"}}, status=404)
        return web.json_response(self.props)

    async def _show(self, request: web.Request) -> web.Response:
        self.info_requests.append(request.path)
        if self.ollama_show is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(self.ollama_show)

    async def _models(self, request: web.Request) -> web.Response:
        self.info_requests.append(request.path)
        if self.models is None:
            return web.json_response({"error": {"message": "not found"}}, status=404)
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake", **self.models_fields}
            for name in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.embedding_requests.append(body)
        if self.embedding_status != 200:
            error = {"error": {"message": "embeddings down", "type": "fake"}}
            return web.json_response(error, status=self.embedding_status)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": self.embedder(text)}
            for i, text in enumerate(texts)
        ]
        tokens = sum(len(text) // 4 + 1 for text in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt = canonical(body)
        cached = common_prefix(prompt, self._previous_prompt) // 4
        self._previous_prompt = prompt
        completion_chars = len(reply.text) + sum(len(str(a)) for _, a in reply.tool_calls)
        prompt_tokens = self.prompt_tokens(body)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_chars // 4 + 1,
            "total_tokens": prompt_tokens + completion_chars // 4 + 1,
            "prompt_tokens_details": {"cached_tokens": cached},
        }

    @staticmethod
    def _arguments(args: Any) -> str:
        return args if isinstance(args, str) else json.dumps(args)

    def _completion(
        self, body: dict[str, Any], reply: Reply, usage: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": self._arguments(args)},
                }
                for i, (name, args) in enumerate(reply.tool_calls)
            ]
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": usage,
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply, usage: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
        }

        sent = 0

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            nonlocal sent
            if reply.cut_after is not None and sent >= reply.cut_after:
                if request.transport is not None:
                    request.transport.close()
                raise ConnectionResetError("cut by the script")
            chunk = {**base, "choices": choices, **extra}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            sent += 1

        size = max(1, reply.chunk_chars)
        await send([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}])
        for start in range(0, len(reply.text), size):
            piece = reply.text[start : start + size]
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
        for i, (name, args) in enumerate(reply.tool_calls):
            head = {
                "index": i,
                "id": f"call_{len(self.requests)}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            await send([{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}])
            text = self._arguments(args)
            for start in range(0, len(text), size):
                part = {"index": i, "function": {"arguments": text[start : start + size]}}
                await send([{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}])
        finish = "tool_calls" if reply.tool_calls else "stop"
        await send([{"index": 0, "delta": {}, "finish_reason": finish}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def main() -> None:
    """Run the fake server standalone (benchmarks): prints its URL, serves until killed."""
    server = FakeOpenAI().start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
