"""A fake Slack on 127.0.0.1 that the real slack-sdk and slack-bolt talk to.

One aiohttp server plays three parts of Slack:
- the Web API under /api/ (auth.test, chat.postMessage with Markdown or with
  blocks — a `markdown` block and an `actions` block of buttons —, chat.update, the
  chat.*Stream methods, reactions.add, users.info, conversations.open, the
  files upload steps, apps.connections.open), with scriptable 429s;
- the Socket Mode WebSocket at /link: says hello, pushes envelopes, collects acks;
- file hosting (/files/..., the bot token required, as url_private is) and
  response_url endpoints (/response/...).
`SlackEvents` plays Slack delivering events to an app over HTTP, signed;
`press_payload` builds the `block_actions` payload of someone pressing a button.
It runs on the test's own event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
TEAM = "T0TEAM"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
MARKDOWN_LIMIT = 12_000
SIGN_IN_PAGE = "<html><body>Sign in to Slack</body></html>"


@dataclass
class Posted:
    """A message the app posted, as people in the channel would see it."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    versions: list[str] = field(default_factory=list)
    streamed: bool = False
    streaming: bool = False
    # Buttons under the message: [{"action_id", "text", "value"}, ...].
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Upload:
    file_id: str
    filename: str
    data: bytes
    channel: str = ""
    thread_ts: str | None = None
    comment: str = ""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.messages: list[Posted] = []
        self.reactions: list[tuple[str, str, str]] = []
        self.hosted: dict[str, tuple[bytes, str]] = {}
        self.file_redirects: dict[str, str] = {}  # file name → Location answered instead
        self.uploads: dict[str, Upload] = {}
        self.responses: list[dict[str, Any]] = []
        self.users: dict[str, str] = {}
        self.rate_limited: dict[str, int] = {}  # method → how many next calls get a 429
        # Calls of a method named here wait until its event is set (an app stuck mid-call).
        self.holds: dict[str, asyncio.Event] = {}
        self.retry_after = "0"
        self.connections = 0
        self.most_sockets = 0  # the most Socket Mode connections open at once
        self.connected_at: list[float] = []  # when each opened (monotonic)
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_ready = asyncio.Event()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- control -------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link", self._socket)
        app.router.add_get("/files/{name}", self._download)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{id}", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def host_file(self, name: str, data: bytes, mime_type: str) -> dict[str, Any]:
        """Host a file and return the file object Slack puts in a message event."""
        self.hosted[name] = (data, mime_type)
        return {
            "id": f"F{len(self.hosted)}",
            "name": name,
            "title": name,
            "mimetype": mime_type,
            "size": len(data),
            "mode": "hosted",
            "url_private": f"{self.url}/files/{name}",
            "url_private_download": f"{self.url}/files/{name}?download=1",
        }

    def texts(self, channel: str | None = None, thread_ts: str | None = None) -> list[str]:
        """What people see: the current text of each message, optionally of one thread."""
        return [
            m.text
            for m in self.messages
            if (channel is None or m.channel == channel)
            and (thread_ts is None or m.thread_ts == thread_ts)
        ]

    def called(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args, _ in self.calls if name == method]

    async def wait_for(self, condition: Any, within: float = 10.0) -> None:
        """Wait until `condition()` holds (things the app does in the background)."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Slack never saw the expected calls")
            await asyncio.sleep(0.02)

    # -- Socket Mode ---------------------------------------------------------

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    async def wait_connected(self, within: float = 10.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), within)

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0
    ) -> dict[str, Any]:
        """Push one envelope to the app and return its acknowledgement."""
        await self.wait_connected()
        envelope_id = str(uuid.uuid4())
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_json(envelope)
        return await asyncio.wait_for(ack, 10)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        self._sockets.append(ws)
        self.most_sockets = max(self.most_sockets, len(self._sockets))
        self.connected_at.append(time.monotonic())
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "connection_info": {"app_id": "A0APP"},
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
            }
        )
        self._socket_ready.set()
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._acks.pop(str(data.get("envelope_id")), None)
            if future is not None and not future.done():
                future.set_result(data)
        self._sockets.remove(ws)
        if not self._sockets:
            self._socket_ready.clear()
        return ws

    # -- Web API -------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        # The SDK sends arguments as JSON, a form, or the query string, per method.
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
        self.calls.append((method, args, time.monotonic()))
        hold = self.holds.get(method)
        if hold is not None:
            await hold.wait()
        if self.rate_limited.get(method, 0) > 0:
            self.rate_limited[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result = handler(args)
        if "error" in result:
            return web.json_response({"ok": False, **result})
        return web.json_response({"ok": True, **result})

    def _new_ts(self) -> str:
        n = next(self._ts)
        return f"{1_800_000_000 + n}.{n:06d}"

    def _find(self, channel: str, ts: str) -> Posted | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    @staticmethod
    def _markdown(args: dict[str, Any]) -> str | dict[str, str]:
        text = args.get("markdown_text")
        if text is None:
            return {"error": "no_text"}
        if "text" in args or "blocks" in args:
            return {"error": "invalid_arguments"}  # markdown_text goes alone
        if len(text) > MARKDOWN_LIMIT:
            return {"error": "msg_too_long"}
        return str(text)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "team": "Test"}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/link"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        buttons: list[dict[str, str]] = []
        if "blocks" in args:
            found = _blocks(args)
            if isinstance(found, dict):
                return found
            text, buttons = found
        else:
            markdown = self._markdown(args)
            if isinstance(markdown, dict):
                return markdown
            text = markdown
        ts = self._new_ts()
        posted = Posted(args["channel"], ts, args.get("thread_ts"), text, [text], buttons=buttons)
        self.messages.append(posted)
        return {"channel": posted.channel, "ts": ts, "message": {"text": text, "ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        text = self._markdown(args)
        if isinstance(text, dict):
            return text
        posted = self._find(args["channel"], args["ts"])
        if posted is None:
            return {"error": "message_not_found"}
        if posted.streaming:
            return {"error": "message_is_streaming"}
        posted.text = text
        posted.versions.append(text)
        return {"channel": posted.channel, "ts": posted.ts, "text": text}

    def _chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args["channel"]
        if not args.get("thread_ts"):
            return {"error": "invalid_arguments"}
        if channel[0] in "CG" and not (
            args.get("recipient_user_id") and args.get("recipient_team_id")
        ):
            return {"error": "missing_recipient"}
        ts = self._new_ts()
        text = args.get("markdown_text", "")
        posted = Posted(channel, ts, args["thread_ts"], text, [text], streamed=True, streaming=True)
        self.messages.append(posted)
        return {"channel": channel, "ts": ts}

    def _chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        posted = self._find(args["channel"], args["ts"])
        if posted is None or not posted.streaming:
            return {"error": "message_not_in_streaming_state"}
        posted.text += args.get("markdown_text", "")
        posted.versions.append(posted.text)
        return {"channel": posted.channel, "ts": posted.ts}

    def _chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        posted = self._find(args["channel"], args["ts"])
        if posted is None or not posted.streaming:
            return {"error": "message_not_in_streaming_state"}
        posted.text += args.get("markdown_text", "")
        posted.versions.append(posted.text)
        posted.streaming = False
        return {"channel": posted.channel, "ts": posted.ts, "message": {"text": posted.text}}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        self.reactions.append((args["channel"], args["timestamp"], args["name"]))
        return {}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args["user"]
        if user not in self.users:
            return {"error": "user_not_found"}
        name = self.users[user]
        return {"user": {"id": user, "name": name.lower(), "profile": {"display_name": name}}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(args["users"]).removeprefix("U")}}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"FUP{len(self.uploads) + 1}"
        self.uploads[file_id] = Upload(file_id, str(args["filename"]), b"")
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        done = []
        for item in json.loads(args["files"]):
            upload = self.uploads[item["id"]]
            upload.channel = str(args.get("channel_id", ""))
            upload.thread_ts = args.get("thread_ts")
            upload.comment = str(args.get("initial_comment", ""))
            done.append({"id": upload.file_id, "title": item.get("title", "")})
        return {"files": done}

    # -- files and response URLs ---------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["name"] in self.file_redirects:
            raise web.HTTPFound(self.file_redirects[request.match_info["name"]])
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        found = self.hosted.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        data, mime = found
        return web.Response(body=data, content_type=mime)

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads[request.match_info["file_id"]]
        upload.data = await request.read()
        return web.Response(text="OK - 200")

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")


def _blocks(args: dict[str, Any]) -> tuple[str, list[dict[str, str]]] | dict[str, str]:
    """A message of blocks as Slack checks it: a list of blocks of known types, a
    `markdown` block's text within the limit, buttons with a text, an action_id unique
    in the message and a value; returns the text shown and the buttons."""
    blocks = args["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if "markdown_text" in args or not isinstance(blocks, list):
        return {"error": "invalid_blocks"}
    texts: list[str] = []
    buttons: list[dict[str, str]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text or len(text) > MARKDOWN_LIMIT:
                return {"error": "invalid_blocks"}
            texts.append(text)
        elif kind == "actions":
            for element in block.get("elements") or []:
                label = (element.get("text") or {}).get("text")
                if element.get("type") != "button" or not label or "value" not in element:
                    return {"error": "invalid_blocks"}
                buttons.append(
                    {
                        "action_id": str(element["action_id"]),
                        "text": str(label),
                        "value": str(element["value"]),
                    }
                )
        else:
            return {"error": "invalid_blocks"}
    if len({b["action_id"] for b in buttons}) != len(buttons) or not texts:
        return {"error": "invalid_blocks"}
    return "\n".join(texts), buttons


def press_payload(user: str, posted: Posted, label: str) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `user` presses the button `label`."""
    button = next((b for b in posted.buttons if b["text"] == label), None)
    if button is None:
        raise AssertionError(f"no button {label!r} under message {posted.ts}")
    return {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": user, "username": user.removeprefix("U").lower(), "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": posted.ts,
            "channel_id": posted.channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.trigger",
        "channel": {"id": posted.channel, "name": "directmessage"},
        "message": {"type": "message", "ts": posted.ts, "text": posted.text},
        "response_url": f"http://127.0.0.1/response/{posted.ts}",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b1",
                "text": {"type": "plain_text", "text": button["text"]},
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }


class SlackEvents:
    """Slack delivering events to an app's HTTP endpoint, signed with the signing secret."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self._verifier = SignatureVerifier(secret)

    async def post(
        self,
        body: str,
        *,
        content_type: str = "application/json",
        timestamp: int | None = None,
        retry_num: int | None = None,
        signature: str | None = None,
    ) -> tuple[int, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature
            or self._verifier.generate_signature(timestamp=stamp, body=body),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url, data=body.encode(), headers=headers) as response:
                return response.status, await response.text()


def event_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API `event_callback` body around `event`."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }
