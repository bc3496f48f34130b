"""The checks of bench/open_models.py: the server asked directly, then the app run on it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import App, build_app
from bot.settings import Settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import Reply, echo, last_user_text

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK_WEATHER = [
    {"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}
]
HELLO = [{"role": "user", "content": "Say hello in one short sentence."}]
USAGE_LINE = re.compile(
    r"Today \(UTC\): (\d+) model calls, ~?([\d,]+) prompt \+ ~?([\d,]+) completion"
)


@dataclass(frozen=True)
class Row:
    feature: str
    ok: bool | None  # None: could not tell
    detail: str = ""


@dataclass
class Streamed:
    status: int
    chunks: list[dict[str, Any]]
    comments: int
    error: str = ""

    def deltas(self) -> list[dict[str, Any]]:
        return [c.get("delta") or {} for chunk in self.chunks for c in chunk.get("choices") or ()]


class Server:
    """Plain HTTP to the server, outside Clawling's client, to see what it does."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, model: str) -> None:
        self.session, self.base, self.model = session, base_url.rstrip("/"), model
        self.root = self.base.removesuffix("/v1")

    async def call(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        try:
            async with self.session.request(method, url, json=body) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    async def chat(self, messages: list[dict[str, Any]], **extra: Any) -> tuple[int, Any]:
        body = {"model": self.model, "messages": messages, **extra}
        return await self.call("POST", f"{self.base}/chat/completions", body)

    async def stream(self, messages: list[dict[str, Any]], **extra: Any) -> Streamed:
        body = {"model": self.model, "messages": messages, "stream": True, **extra}
        url = f"{self.base}/chat/completions"
        try:
            async with self.session.post(url, json=body) as response:
                if response.status != 200:
                    return Streamed(response.status, [], 0, (await response.text())[:200])
                chunks, comments = [], 0
                async for raw in response.content:
                    line = raw.decode(errors="replace").strip()
                    if line.startswith(":"):
                        comments += 1
                    elif line.startswith("data:") and line[5:].strip() != "[DONE]":
                        chunks.append(json.loads(line[5:]))
                return Streamed(200, chunks, comments)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Streamed(0, [], 0, f"{type(exc).__name__}: {exc}")


def _message(answer: Any) -> dict[str, Any]:
    try:
        return dict(answer["choices"][0]["message"])
    except (KeyError, IndexError, TypeError):
        return {}


def _error(status: int, answer: Any) -> str:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return f"HTTP {status}: {text[:160]}"


async def server_checks(
    base_url: str, model: str, api_key: str | None, embedding_model: str | None
) -> tuple[list[Row], int | None]:
    """The rows found by asking the server directly, and the window it tells (or None)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        server = Server(session, base_url, model)
        rows = [await _chat(server), await _streaming(server), await _stream_usage(server)]
        rows += [await _tool(server, "auto"), await _tool(server, None)]
        rows.append(await _streamed_tool(server))
        window_row, window = await _window(server)
        rows.append(window_row)
        rows.append(await _embeddings(server, embedding_model or model))
    return rows, window


async def _chat(server: Server) -> Row:
    status, answer = await server.chat(HELLO)
    content = _message(answer).get("content")
    if status == 200 and content:
        usage = "with usage" if isinstance(answer, dict) and answer.get("usage") else "no usage"
        return Row("chat", True, f"{content[:40]!r}, {usage}")
    return Row("chat", False, _error(status, answer))


async def _streaming(server: Server) -> Row:
    streamed = await server.stream(HELLO)
    text = "".join(str(d.get("content") or "") for d in streamed.deltas())
    if text:
        return Row("streaming", True, f"{len(streamed.chunks)} chunks")
    return Row("streaming", False, streamed.error or "no text in the stream")


async def _stream_usage(server: Server) -> Row:
    streamed = await server.stream(HELLO, stream_options={"include_usage": True})
    found = any(chunk.get("usage") for chunk in streamed.chunks)
    return Row("usage in stream", found, "" if found else streamed.error or "none sent")


async def _tool(server: Server, choice: str | None) -> Row:
    extra: dict[str, Any] = {"tools": [WEATHER]}
    if choice is not None:
        extra["tool_choice"] = choice
    feature = f"tool call (tool_choice {choice})" if choice else "tool call (no tool_choice)"
    status, answer = await server.chat(ASK_WEATHER, **extra)
    calls = _message(answer).get("tool_calls") or []
    if calls:
        return Row(feature, True, str(calls[0].get("function", {}).get("name")))
    if status == 200:
        return Row(feature, False, f"answered in text: {_message(answer).get('content')!r:.60}")
    return Row(feature, False, _error(status, answer))


async def _streamed_tool(server: Server) -> Row:
    streamed = await server.stream(ASK_WEATHER, tools=[WEATHER], tool_choice="auto")
    calls = [d["tool_calls"] for d in streamed.deltas() if d.get("tool_calls")]
    if calls:
        return Row("tool call streamed", True, f"in {len(calls)} chunks")
    detail = streamed.error or f"no tool call ({streamed.comments} comment lines only)"
    return Row("tool call streamed", False, detail)


async def _window(server: Server) -> tuple[Row, int | None]:
    _status, listing = await server.call("GET", f"{server.base}/models")
    entries = listing.get("data") if isinstance(listing, dict) else None
    entries = entries if isinstance(entries, list) else []
    for entry in entries:
        if entry.get("id") == server.model or len(entries) == 1:
            for key in ("max_model_len", "context_length", "context_window"):
                if isinstance(entry.get(key), int):
                    return Row("window told", True, f"{entry[key]} (/v1/models {key})"), entry[key]
    status, props = await server.call("GET", f"{server.root}/props")
    if status == 200 and isinstance(props, dict):
        n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
        if isinstance(n_ctx, int):
            return Row("window told", True, f"{n_ctx} (/props n_ctx)"), n_ctx
    status, show = await server.call("POST", f"{server.root}/api/show", {"model": server.model})
    if status == 200 and isinstance(show, dict):
        for key, value in (show.get("model_info") or {}).items():
            if key.endswith(".context_length") and isinstance(value, int):
                return Row("window told", True, f"{value} (/api/show {key})"), value
    return Row("window told", False, "not by /v1/models, /props or /api/show"), None


async def _embeddings(server: Server, model: str) -> Row:
    body = {"model": model, "input": ["one two three", "four"], "encoding_format": "float"}
    status, answer = await server.call("POST", f"{server.base}/embeddings", body)
    data = answer.get("data") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(data, list) or not data:
        return Row("embeddings shape", False, _error(status, answer))
    first = data[0].get("embedding")
    if isinstance(first, list) and first and isinstance(first[0], list):
        return Row("embeddings shape", False, "one vector per token, not per text")
    if len(data) != 2 or not isinstance(first, list):
        return Row("embeddings shape", False, f"{len(data)} vectors for 2 texts")
    return Row("embeddings shape", True, f"one vector per text ({len(first)} numbers)")


# -- the app -------------------------------------------------------------------------


async def app_checks(
    base_url: str,
    model: str,
    api_key: str | None,
    workdir: Path,
    window: int,
    embedding_model: str | None,
) -> list[Row]:
    """The rows found by running the real app (SQLite, a recording chat) on the server."""
    settings = Settings(
        _env_file=None,
        openai={"api_key": api_key, "base_url": base_url},
        clawling={
            "model": model,
            "database_url": f"sqlite:///{workdir / 'bench.db'}",
            "data_dir": str(workdir / "data"),
            "http_port": 0,
            "llm_timeout": 600,
            "llm_max_retries": 2,  # the default: a stale keep-alive connection is retried
            "embedding_model": embedding_model,
        },
    )
    app = build_app(settings)
    await app.prepare_database()
    chat = RecordingChannel("bench")
    app.add_channel(chat)
    try:
        rows = [await _app_turn(app, chat, "app: chat", "Hello! Answer in one short sentence.")]
        rows.append(
            await _app_turn(
                app, chat, "app: tool call", "What time is it? Use the current_time tool.", "tool"
            )
        )
        rows.append(await _app_overflow(app, chat, window))
        rows.append(await _app_usage(app, chat))
    finally:
        await app.close()
    return rows


async def _say(app: App, chat: RecordingChannel, text: str) -> str:
    before = len(chat.sent)
    await app.sessions.handle(chat.inbound(text, chat="bench", sender="tester"))
    await app.sessions.drain()
    return "\n".join(s.final for s in chat.sent[before:])


async def _answered(app: App) -> tuple[bool, set[str]]:
    """Whether the last turn was answered (stored), and the roles it stored."""
    user = await app.store.resolve_identity("bench", "tester", "Tester")
    conversation = await app.store.open_conversation(
        "bench", "bench", "", is_direct=True, owner_id=user.id
    )
    messages = (await app.store.load_context(conversation.id)).messages
    if not messages or messages[-1].role != "assistant" or messages[-1].turn is None:
        return False, set()
    turn = messages[-1].turn
    return True, {m.role for m in messages if m.turn == turn}


async def _app_turn(
    app: App, chat: RecordingChannel, feature: str, text: str, needs: str = ""
) -> Row:
    shown = await _say(app, chat, text)
    answered, roles = await _answered(app)
    if not answered:
        return Row(feature, False, f"turn failed: {shown[:100]!r}")
    if needs and needs not in roles:
        return Row(feature, False, f"answered without a tool: {shown[:60]!r}")
    return Row(feature, True, repr(shown[:60]))


async def _app_overflow(app: App, chat: RecordingChannel, window: int) -> Row:
    filler = "".join(
        f"{i}: the river runs past the mill and the bridge. " for i in range(max(1, window // 40))
    )
    answered = 0
    for n in range(1, 5):
        await _say(app, chat, f"Part {n}, just say ok. {filler}")
        answered += (await _answered(app))[0]
    detail = f"{answered} of 4 turns of ~{window // 3} tokens each answered (window {window})"
    return Row("app: overflow recovery", answered == 4, detail)


async def _app_usage(app: App, chat: RecordingChannel) -> Row:
    match = USAGE_LINE.search(await _say(app, chat, "/usage"))
    if match is None:
        return Row("app: /usage figures", False, "no Today line")
    calls, prompt, completion = (int(g.replace(",", "")) for g in match.groups())
    detail = f"{calls} calls, {prompt} prompt + {completion} completion tokens"
    return Row("app: /usage figures", prompt > 0 and completion > 0, detail)


def scripted_model(request: dict[str, Any]) -> Reply:
    """For --fake: call a tool the person names ("use the X tool"), report its result,
    otherwise echo."""
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    if last["role"] == "tool":
        return Reply(text=f"tool said: {str(last['content'])[:100]}")
    text = last_user_text(request)
    for tool in request.get("tools") or ():
        name = tool["function"]["name"]
        if f"the {name} tool" in text:
            return Reply(tool_calls=[(name, {"city": "Paris"} if name == "get_weather" else {})])
    return echo(request)
