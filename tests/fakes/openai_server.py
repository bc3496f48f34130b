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
import re
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
    raw_stream: str | None = None  # streamed: this SSE text as-is with 200 ("" = empty stream)
    whole_tool_calls: bool = False  # streamed: each tool call in one chunk (Ollama)


Responder = Callable[[dict[str, Any]], Reply]
Embedder = Callable[[str], list[float]]
Intercept = Callable[[dict[str, Any]], Reply | None]
View = Callable[[dict[str, Any]], dict[str, Any]]
Reshape = Callable[[dict[str, Any], Reply], Reply]
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


def _last_user_text_with_note(request: dict[str, Any]) -> str | None:
    """The text of the request's last user message (text parts joined), or None."""
    for message in reversed(request["messages"]):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content)
    return None


def note_of(request: dict[str, Any]) -> str:
    """The volatile note of a request (time, recalled notes), or ""."""
    text = _last_user_text_with_note(request) or ""
    if NOTE_START not in text:
        return ""
    return text.split(NOTE_START, 1)[1].split("</clawling_note>")[0].strip()


def user_texts(request: dict[str, Any]) -> list[Any]:
    """The contents of the request's user messages, the note left out."""
    return [
        without_note(m["content"]) if isinstance(m["content"], str) else m["content"]
        for m in request["messages"]
        if m["role"] == "user"
    ]


def last_user_text(request: dict[str, Any]) -> str:
    """What the person wrote last, without the note."""
    return without_note(_last_user_text_with_note(request) or "")


def echo(request: dict[str, Any]) -> Reply:
    """Echo the last user message; after tool results, report the last result."""
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    if last["role"] == "tool":
        return Reply(text=f"tool said: {last['content'][:200]}")
    return Reply(text=f"echo: {last_user_text(request)}")


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]")


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
        # Embedding switches (what servers not built for embeddings do):
        # one vector per word of each input, a nested list per input (llama.cpp without pooling).
        self.embeddings_per_token = False
        # When set, every vector is cut or zero-padded to this many numbers.
        self.embedding_dimension: int | None = None
        # False: tool_choice "required" is ignored; otherwise it forces a call of the first tool.
        self.tool_choice_required = True
        self.requests: list[dict[str, Any]] = []
        # What GET /v1/models lists; None answers it with 404 (as some servers do).
        self.models: list[str] | None = ["fake-model"]
        self.script: deque[Reply] = deque()
        # Small windows; each switch alone, combine freely (tests/bot/llm/test_window.py):
        self.context_window: int | None = None  # refuse requests over this many tokens
        self.overflow_style = "openai"  # how: "openai", "vllm", "llama_cpp_python", "llama_cpp"
        self.token_scale = 1.0  # tokens per (chars ÷ 4): a tokenizer counting more (German 1.5)
        # Count each Chinese, Japanese or Korean character as a token, as real tokenizers
        # do (about one per character), instead of a quarter.
        self.cjk_tokens = False
        self.models_fields: dict[str, Any] = {}  # extras on /v1/models entries: max_model_len...
        self.props: dict[str, Any] | None = None  # GET /props (llama.cpp's server); None: 404
        self.ollama_show: dict[str, Any] | None = None  # POST /api/show (Ollama); None: 404
        self.info_requests: list[str] = []  # paths asked of /v1/models, /props, /api/show
        self.overflows = 0  # requests refused as over the window
        self._previous_prompt = ""
        # Behaviours of real servers that are not OpenAI (llama.cpp, Ollama, vLLM...);
        # each off by default, combined freely.
        # Streams carry no usage chunk, even when `stream_options` asks for one.
        self.no_stream_usage = False
        # Tools without `tool_choice` are not offered to the model ("none").
        self.requires_tool_choice = False
        # A streamed request offering tools (any choice but "none") gets only `: ping` lines.
        self.cannot_stream_tools = False
        # Every streamed request is answered 200 with an empty stream (no data at all).
        self.empty_stream = False
        # An assistant message with `"content": null` is an HTTP 500 validation error.
        self.reject_null_content = False
        # A message with image parts is an HTTP 400 (a model without vision).
        self.reject_images = False
        # How long `cannot_stream_tools` keeps pinging before it ends the stream empty.
        self.ping_seconds = 10.0
        self.in_flight = 0
        self.max_in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        # Hooks for personalities (tests/fakes/personalities.py); None leaves the default.
        self.intercept: Intercept | None = None  # the server's own answer (errors, overflow)
        self.view: View | None = None  # what the model sees of a request (template, truncation)
        self.reshape: Reshape | None = None  # what the server makes of the model's reply
        self.seen: list[dict[str, Any]] = []  # requests as the model saw them (after `view`)
        self.embedding_of: Callable[[str], Any] | None = None  # an input's embedding, any shape
        self.audio = FakeAudio()  # /v1/audio/transcriptions

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
        app.router.add_post("/v1/audio/transcriptions", self.audio.transcriptions)
        app.router.add_post("/v1/audio/speech", self.audio.speech)
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
        sent = await request.json()
        self.requests.append(sent)
        over = self._over_window(request, sent)
        if over is not None:
            return await over
        refused = self._refusal(sent)
        if refused is not None:
            return refused
        if sent.get("stream") and (self.empty_stream or self._pings_only(sent)):
            return await self._without_data(request, pinging=not self.empty_stream)
        intercepted = self.intercept(sent) if self.intercept is not None else None
        body = self.view(sent) if self.view is not None else sent
        self.seen.append(body)
        tools_ignored = self.requires_tool_choice and "tool_choice" not in body
        if tools_ignored:
            body = {k: v for k, v in body.items() if k != "tools"}
        if intercepted is not None:
            reply = intercepted
        else:
            reply = (
                self.script.popleft() if self.script else self._forced(body) or self.responder(body)
            )
            if self.reshape is not None:
                reply = self.reshape(body, reply)
        if tools_ignored and reply.tool_calls:
            reply = Reply(text=reply.text or "I have no tools to do that.")
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
        if reply.raw_stream is not None and body.get("stream"):
            raw = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await raw.prepare(request)
            await raw.write(reply.raw_stream.encode())
            await raw.write_eof()
            return raw
        usage = self._usage(body, reply)
        if body.get("stream"):
            return await self._stream(request, body, reply, usage)
        return web.json_response(self._completion(body, reply, usage))

    def _forced(self, body: dict[str, Any]) -> Reply | None:
        """A call of the first tool when tool_choice "required" asks for one."""
        if body.get("tool_choice") != "required" or not body.get("tools"):
            return None
        if not self.tool_choice_required:
            return None
        return Reply(tool_calls=[(body["tools"][0]["function"]["name"], {})])

    def _vector(self, text: str) -> Any:
        """The embedding of one input, as the switches shape it."""
        if self.embeddings_per_token:
            return [self._sized(self.embedder(word)) for word in text.split() or [text]]
        return self._sized(self.embedder(text))

    def _sized(self, vector: list[float]) -> list[float]:
        size = self.embedding_dimension
        if size is None:
            return vector
        return (vector + [0.0] * size)[:size]

    def _pings_only(self, body: dict[str, Any]) -> bool:
        offered = body.get("tools") and body.get("tool_choice", "auto") != "none"
        return self.cannot_stream_tools and bool(offered)

    def _refusal(self, body: dict[str, Any]) -> web.Response | None:
        """The error a picky server answers this request with, or None."""
        messages = body.get("messages") or []
        if self.reject_null_content and any(
            m.get("role") == "assistant" and m.get("content", "") is None for m in messages
        ):
            text = "1 validation error for ChatCompletionRequestAssistantMessage: content"
            return web.json_response({"error": {"message": text, "type": "fake"}}, status=500)
        if self.reject_images and any(
            isinstance(m.get("content"), list)
            and any(p.get("type") == "image_url" for p in m["content"])
            for m in messages
        ):
            text = "image input is not supported by this model"
            error = {"message": text, "type": "invalid_request_error"}
            return web.json_response({"error": error}, status=400)
        return None

    async def _without_data(self, request: web.Request, *, pinging: bool) -> web.StreamResponse:
        """A 200 stream with no data event: keep-alive comments until the client leaves
        (or ping_seconds pass), or nothing at all."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        deadline = time.monotonic() + (self.ping_seconds if pinging else 0)
        try:
            while time.monotonic() < deadline:
                await response.write(b": ping\n\n")
                await asyncio.sleep(0.05)
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass  # the client gave up waiting
        return response

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        """The request's prompt in "tokens": characters ÷ 4 of its canonical form, times
        `token_scale` (the same count its usage reports)."""
        text = canonical(body)
        cjk = len(_CJK.findall(text)) if self.cjk_tokens else 0
        return int(((len(text) - cjk) / 4 + cjk) * self.token_scale)

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
        embed = self.embedding_of or self._vector
        data = [
            {"object": "embedding", "index": i, "embedding": embed(text)}
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
            if reply.whole_tool_calls:
                call = {
                    "index": i,
                    "id": f"call_{len(self.requests)}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": self._arguments(args)},
                }
                await send([{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}])
                continue
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
        if (body.get("stream_options") or {}).get("include_usage") and not self.no_stream_usage:
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@dataclass
class Transcribed:
    """One request to /audio/transcriptions, as received."""

    model: str
    file_name: str
    content_type: str
    data: bytes
    authorization: str


@dataclass
class FakeAudio:
    """Speech to text: a queued transcript per request (else `default`), or `status` as an
    error; every multipart request is recorded. Text to speech: `speech`."""

    transcripts: deque[str] = field(default_factory=deque)
    default: str = "hello from a voice note"
    status: int = 200
    requests: list[Transcribed] = field(default_factory=list)
    spoken: list[dict[str, Any]] = field(default_factory=list)  # /audio/speech bodies
    speech_status: int = 200

    async def transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        self.requests.append(
            Transcribed(
                model=str(form.get("model", "")),
                file_name=upload.filename,
                content_type=upload.content_type,
                data=upload.file.read(),
                authorization=request.headers.get("Authorization", ""),
            )
        )
        if self.status != 200:
            error = {"error": {"message": "transcription down", "type": "server_error"}}
            return web.json_response(error, status=self.status)
        text = self.transcripts.popleft() if self.transcripts else self.default
        return web.json_response({"text": text})

    async def speech(self, request: web.Request) -> web.Response:
        """Text to speech: Ogg bytes that carry the text, so tests can tell what was said."""
        body = await request.json()
        self.spoken.append(body)
        if self.speech_status != 200:
            error = {"error": {"message": "speech down", "type": "server_error"}}
            return web.json_response(error, status=self.speech_status)
        return web.Response(body=b"OggS" + body["input"].encode(), content_type="audio/ogg")


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
