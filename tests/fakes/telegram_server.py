"""A fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot.

It speaks the Bot API over HTTP the way api.telegram.org does: form-encoded or
multipart requests with nested fields as JSON strings, `{"ok": true, "result":
...}` answers, errors with `error_code`, `description` and (for 429)
`parameters.retry_after`. getUpdates long-polls and keeps updates until a later
offset confirms them; a getUpdates that arrives while another is waiting ends the
waiting one with 409 Conflict, as Telegram does when two processes poll one bot
(counted in `conflicts` when the cut-short poller was still connected). Messages are checked as Telegram checks them: at most
4096 UTF-16 units, entities inside the text, no empty text, "message is not
modified" on an edit that changes nothing.

Tests play the people: `push_message(...)` queues an update as if someone had
written in a chat, `press(...)` as if they pressed an inline button (a callback
query); what the bot sent is in `messages` (with their `buttons`), `drafts`,
`actions`, `documents`, `commands` and `answered_presses`.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
BOT_USER = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "Clawling",
    "username": "clawling_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_UNITS = 4096
ENTITY_TYPES = {
    "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold",
    "italic", "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote",
    "code", "pre", "text_link", "text_mention", "custom_emoji", "date_time",
}  # fmt: skip
JSON_FIELDS = {
    "entities", "caption_entities", "reply_parameters", "commands", "allowed_updates",
    "link_preview_options", "reply_markup",
}  # fmt: skip


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class SentMessage:
    """A message the bot sent, with its edits."""

    chat_id: int
    message_id: int
    text: str
    entities: list[dict[str, Any]]
    thread_id: int | None = None
    reply_to: int | None = None
    # The inline keyboard, row by row: [(label, callback_data), ...].
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    edits: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    sent_at: float = field(default_factory=time.monotonic)
    changed_at: float = field(default_factory=time.monotonic)

    @property
    def current(self) -> tuple[str, list[dict[str, Any]]]:
        return self.edits[-1] if self.edits else (self.text, self.entities)

    @property
    def final_text(self) -> str:
        return self.current[0]


@dataclass
class Fault:
    code: int
    description: str
    retry_after: int | None
    times: int


class FakeTelegram:
    """Start with `await server.start()`; point PTB at `server.url` and `server.file_url`."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot = dict(BOT_USER)
        self.port = 0
        self.messages: list[SentMessage] = []
        self.drafts: list[dict[str, Any]] = []
        self.actions: list[tuple[int, str, int | None]] = []
        self.documents: list[dict[str, Any]] = []
        self.voices: list[dict[str, Any]] = []  # sendVoice: chat_id, data
        self.commands: list[dict[str, Any]] = []
        self.answered_presses: list[str] = []  # callback query ids the bot answered
        self.webhook: dict[str, Any] | None = None
        self.calls: list[str] = []
        self.delivered_at: dict[tuple[int, int], float] = {}  # (chat, message) → first served
        self.conflicts = 0  # getUpdates cut short by another while its poller listened
        self.polled_at: list[float] = []  # when each getUpdates arrived (monotonic)
        self._poll: _Poll | None = None
        self.on_request: Callable[[str, dict[str, Any]], None] | None = None
        # Calls of a method named here wait until its event is set (a bot stuck mid-call).
        self.holds: dict[str, asyncio.Event] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._files: dict[str, tuple[str, bytes]] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._by_id: dict[tuple[int, int], dict[str, Any]] = {}
        self._new_update = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._new_update:
            self._new_update.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the people's side -------------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str = "Ann", username: str | None = None) -> dict[str, Any]:
        person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            person["username"] = username
        return person

    @staticmethod
    def private(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    @staticmethod
    def group(chat_id: int, title: str = "Team", *, forum: bool = False) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        if forum:
            chat["is_forum"] = True
        return chat

    def push_message(
        self,
        chat: dict[str, Any],
        sender: dict[str, Any] | None,
        text: str | None = None,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        message_id: int | None = None,
        kind: str = "message",
        **extra: Any,
    ) -> int:
        """Queue an update as if `sender` wrote in `chat`; returns the message id."""
        mid = message_id if message_id is not None else next(self._message_ids)
        message: dict[str, Any] = {"message_id": mid, "date": int(time.time()), "chat": chat}
        if sender is not None:
            message["from"] = sender
        if text is not None:
            key = (
                "caption"
                if {"photo", "document", "video", "audio", "voice"} & set(extra)
                else "text"
            )
            message[key] = text
            entities = _auto_entities(text)
            if entities:
                message[f"{key}_entities" if key == "caption" else "entities"] = entities
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = self._by_id.get((chat["id"], reply_to)) or {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": chat,
            }
        message.update(extra)
        self._by_id[(chat["id"], mid)] = message
        self.push_update({kind: message})
        return mid

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue any update (edited_message, channel_post, ...); returns its update_id."""
        update = {"update_id": next(self._update_ids), **payload}
        self._updates.append(update)
        asyncio.get_running_loop().create_task(self._wake())
        return int(update["update_id"])

    @property
    def unconfirmed(self) -> list[int]:
        """Ids of updates a getUpdates offset has not confirmed yet (Telegram still has them)."""
        return [int(update["update_id"]) for update in self._updates]

    def press(self, sender: dict[str, Any], sent: SentMessage, label: str) -> str:
        """Queue a callback query as if `sender` pressed the button `label` under a
        message the bot sent; returns the query id."""
        data = next((d for row in sent.buttons for (text, d) in row if text == label), None)
        if data is None:
            raise AssertionError(f"no button {label!r} under message {sent.message_id}")
        query_id = f"q{next(self._update_ids)}"
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "message": self._message_json(sent),
                    "chat_instance": f"ci{sent.chat_id}",
                    "data": data,
                }
            }
        )
        return query_id

    def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an already seen update again (as after a crash before confirming)."""
        self.push_update({k: v for k, v in update.items() if k != "update_id"})

    def add_file(self, data: bytes, name: str) -> dict[str, Any]:
        """Store a file the way Telegram holds uploads; returns its file fields."""
        n = len(self._files) + 1
        file_id = f"file-{n}"
        self._files[file_id] = (f"documents/{n}_{name}", data)
        return {"file_id": file_id, "file_unique_id": f"u{n}", "file_size": len(data)}

    def fail(
        self,
        method: str,
        *,
        code: int = 429,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail like Telegram does."""
        if code == 429 and retry_after is None:
            retry_after = 1
        text = description or (
            f"Too Many Requests: retry after {retry_after}" if code == 429 else "Bad Request"
        )
        self._faults[method].append(Fault(code, text, retry_after, times))

    # -- assertions ----------------------------------------------------------

    def in_chat(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        return [m.final_text for m in self.in_chat(chat_id)]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot")
            await asyncio.sleep(0.01)

    # -- the API ---------------------------------------------------------------

    async def _wake(self) -> None:
        async with self._new_update:
            self._new_update.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        self.calls.append(method)
        try:
            params = await _params(request)
        except ConnectionResetError:  # the client gave up mid-request (a cancelled typing call)
            return web.Response(status=499)
        if self.on_request is not None:
            self.on_request(method, params)
        hold = self.holds.get(method)
        if hold is not None:
            await hold.wait()
        queue = self._faults.get(method)
        if queue:
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return _error(ApiError(fault.code, fault.description, fault.retry_after))
        handler = getattr(self, f"_m_{method}", None)
        if method == "getUpdates":
            handler = functools.partial(self._get_updates, request)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, data in self._files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data)
        return web.Response(status=404)

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = params
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    async def _get_updates(self, request: web.Request, params: dict[str, Any]) -> Any:
        self.polled_at.append(time.monotonic())
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        waiting = self._poll
        if waiting is not None:
            if waiting.listening():
                self.conflicts += 1
            waiting.cut = True
            await self._wake()
        poll = self._poll = _Poll(request)
        try:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()  # confirmed by the offset: gone for good
            deadline = time.monotonic() + timeout
            async with self._new_update:
                while not self._updates and not self._closing and not poll.cut:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        await asyncio.wait_for(self._new_update.wait(), left)
                    except TimeoutError:
                        break
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.cut:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        batch = list(itertools.islice(self._updates, limit))
        now = time.monotonic()
        for update in batch:
            message = update.get("message")
            if message is not None:
                self.delivered_at.setdefault((message["chat"]["id"], message["message_id"]), now)
        return batch

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        entities = params.get("entities") or []
        _check_text(text, entities)
        reply = params.get("reply_parameters") or {}
        thread = int(params["message_thread_id"]) if params.get("message_thread_id") else None
        sent = SentMessage(
            chat_id, next(self._message_ids), text, entities, thread, reply.get("message_id")
        )
        sent.buttons = _keyboard(params.get("reply_markup"))
        self.messages.append(sent)
        return self._message_json(sent)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        self.answered_presses.append(str(params["callback_query_id"]))
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        text = str(params.get("text", ""))
        entities = params.get("entities") or []
        _check_text(text, entities)
        found = [m for m in self.messages if (m.chat_id, m.message_id) == (chat_id, message_id)]
        if not found:
            raise ApiError(400, "Bad Request: message to edit not found")
        sent = found[0]
        if sent.current == (text, entities):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        sent.edits.append((text, entities))
        sent.changed_at = time.monotonic()
        return self._message_json(sent)

    async def _m_sendMessageDraft(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id < 0:
            raise ApiError(400, "Bad Request: TEXTDRAFT_PEER_INVALID")
        text = str(params.get("text", ""))
        entities = params.get("entities") or []
        _check_text(text, entities)
        self.drafts.append({"chat_id": chat_id, "draft_id": params["draft_id"], "text": text})
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        thread = int(params["message_thread_id"]) if params.get("message_thread_id") else None
        self.actions.append((int(params["chat_id"]), str(params["action"]), thread))
        return True

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        document = params.get("document")
        if not isinstance(document, web.FileField):
            raise ApiError(400, "Bad Request: there is no document in the request")
        data = document.file.read()
        chat_id = int(params["chat_id"])
        caption = str(params.get("caption", ""))
        self.documents.append(
            {"chat_id": chat_id, "name": document.filename, "data": data, "caption": caption}
        )
        sent = SentMessage(chat_id, next(self._message_ids), "", [])
        body = self._message_json(sent)
        body["document"] = {
            "file_id": "sent",
            "file_unique_id": "sent",
            "file_name": document.filename,
        }
        return body

    async def _m_sendVoice(self, params: dict[str, Any]) -> Any:
        voice = params.get("voice")
        if not isinstance(voice, web.FileField):
            raise ApiError(400, "Bad Request: there is no voice in the request")
        chat_id = int(params["chat_id"])
        self.voices.append({"chat_id": chat_id, "data": voice.file.read()})
        body = self._message_json(SentMessage(chat_id, next(self._message_ids), "", []))
        body["voice"] = {"file_id": "sent", "file_unique_id": "sent", "duration": 1}
        return body

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(data),
            "file_path": path,
        }

    def _message_json(self, sent: SentMessage) -> dict[str, Any]:
        chat_type = "private" if sent.chat_id > 0 else "supergroup"
        text, entities = sent.current
        body: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": chat_type},
            "from": self.bot,
            "text": text,
        }
        if entities:
            body["entities"] = entities
        if sent.thread_id is not None:
            body["message_thread_id"] = sent.thread_id
        if sent.buttons:
            body["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": text, "callback_data": data} for text, data in row]
                    for row in sent.buttons
                ]
            }
        self._by_id[(sent.chat_id, sent.message_id)] = body
        return body


@dataclass
class _Poll:
    """A getUpdates waiting for updates."""

    request: web.Request
    cut: bool = False

    def listening(self) -> bool:
        """Whether its poller is still connected (a killed process's is not)."""
        transport = self.request.transport
        return transport is not None and not transport.is_closing()


def _check_text(text: str, entities: list[dict[str, Any]]) -> None:
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    size = units(text)
    if size > MAX_UNITS:
        raise ApiError(400, "Bad Request: message is too long")
    for entity in entities:
        offset, length = int(entity.get("offset", -1)), int(entity.get("length", 0))
        if (
            entity.get("type") not in ENTITY_TYPES
            or offset < 0
            or length <= 0
            or offset + length > size
        ):
            raise ApiError(
                400, f"Bad Request: can't parse entities: bad entity {json.dumps(entity)}"
            )


def _keyboard(markup: Any) -> list[list[tuple[str, str]]]:
    """An inline keyboard as Telegram checks it: rows of buttons, each with a text and
    callback_data of 1-64 bytes."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button")
    keyboard = []
    for row in rows:
        buttons = []
        for button in row:
            data = str(button.get("callback_data", ""))
            if not button.get("text") or not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            buttons.append((str(button["text"]), data))
        keyboard.append(buttons)
    return keyboard


def _auto_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram detects by itself: a leading /command and @mentions."""
    found = []
    command = re.match(r"/\w+(@\w+)?", text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": units(command.group())})
    for mention in re.finditer(r"(?<![\w/])@\w{3,}", text):
        offset = units(text[: mention.start()])
        found.append({"type": "mention", "offset": offset, "length": units(mention.group())})
    return found


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if key in JSON_FIELDS and isinstance(value, str):
            params[key] = json.loads(value)
        else:
            params[key] = value
    for key, value in request.query.items():
        params.setdefault(key, value)
    return params


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)
