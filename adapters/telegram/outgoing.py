"""Sending to Telegram: rendered chunks, edits, drafts, typing and files, with retries."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram import MessageEntity as TgEntity
from telegram.constants import ChatAction

from adapters.telegram import retry
from adapters.telegram.render import Chunk, render
from bot.chat.channels import Button, ChatRef, MessageRef

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024
_NO_PREVIEWS = LinkPreviewOptions(is_disabled=True)


def is_group(chat: ChatRef) -> bool:
    # Telegram gives groups and channels negative ids, people positive ones.
    return chat.chat_id.startswith("-")


def _target(chat: ChatRef) -> dict[str, Any]:
    return {
        "chat_id": int(chat.chat_id),
        "message_thread_id": int(chat.thread_id) if chat.thread_id else None,
    }


def _entities(chunk: Chunk) -> list[TgEntity]:
    return [TgEntity.de_json(e.to_dict(), None) for e in chunk.entities]


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    # callback_data is at most 64 bytes; our commands ("/allow K7QX9MPA") are far shorter.
    row = [InlineKeyboardButton(b.label, callback_data=b.command[:64]) for b in buttons]
    return InlineKeyboardMarkup([row])


def _formatting_refused(exc: retry.Rejected) -> bool:
    return exc.says("can't parse entities", "entity", "entities")


class Sender:
    """Every outgoing Bot API call of the adapter."""

    def __init__(self, bot: Bot, policy: retry.RetryPolicy) -> None:
        self.bot = bot
        self.policy = policy

    async def send(
        self,
        chat: ChatRef,
        markdown: str,
        reply_to: str | None,
        buttons: tuple[Button, ...] = (),
    ) -> list[MessageRef]:
        """Markdown as one or more messages, in order; the first replies to `reply_to`,
        the last carries the buttons (an inline keyboard, one row)."""
        chunks = render(markdown)
        keyboard = _keyboard(buttons)
        refs = []
        for i, chunk in enumerate(chunks):
            markup = keyboard if i == len(chunks) - 1 else None
            refs.append(await self.send_chunk(chat, chunk, reply_to if i == 0 else None, markup))
        return refs

    async def answer_press(self, query_id: str) -> None:
        """Stop the spinner on a pressed button (the answer itself comes as a message)."""
        try:
            await retry.call(
                "answerCallbackQuery",
                lambda: self.bot.answer_callback_query(query_id),
                self.policy,
                retry_floods=False,
            )
        except Exception as exc:  # noqa: BLE001 - a spinner left turning is not worth more
            log.info("could not answer a button press: %s", exc)

    async def send_chunk(
        self,
        chat: ChatRef,
        chunk: Chunk,
        reply_to: str | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> MessageRef:
        reply = None
        if reply_to and reply_to.isdigit() and is_group(chat):
            reply = ReplyParameters(int(reply_to), allow_sending_without_reply=True)

        async def post(entities: list[TgEntity]) -> MessageRef:
            sent = await retry.call(
                "sendMessage",
                lambda: self.bot.send_message(
                    text=chunk.text,
                    entities=entities or None,
                    reply_parameters=reply,
                    link_preview_options=_NO_PREVIEWS,
                    reply_markup=markup,
                    **_target(chat),
                ),
                self.policy,
                creates_message=True,
            )
            return MessageRef(chat, str(sent.message_id))

        try:
            return await post(_entities(chunk))
        except retry.Rejected as exc:
            if not chunk.entities or not _formatting_refused(exc):
                raise
            log.warning("Telegram refused the formatting (%s); sending plain text", exc.description)
            return await post([])

    async def edit_chunk(self, ref: MessageRef, chunk: Chunk) -> None:
        """Replace a message's text; an unchanged text is not an error."""

        async def edit(entities: list[TgEntity]) -> None:
            await retry.call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text=chunk.text,
                    chat_id=int(ref.chat.chat_id),
                    message_id=int(ref.message_id),
                    entities=entities or None,
                    link_preview_options=_NO_PREVIEWS,
                ),
                self.policy,
            )

        try:
            await edit(_entities(chunk))
        except retry.Rejected as exc:
            if exc.says("message is not modified"):
                return
            if not chunk.entities or not _formatting_refused(exc):
                raise
            await edit([])

    async def preview_edit(self, ref: MessageRef, chunk: Chunk) -> None:
        """An edit that shows progress: dropped (not retried) under flood control."""
        try:
            await retry.call(
                "editMessageText",
                lambda: self.bot.edit_message_text(
                    text=chunk.text,
                    chat_id=int(ref.chat.chat_id),
                    message_id=int(ref.message_id),
                    entities=_entities(chunk) or None,
                    link_preview_options=_NO_PREVIEWS,
                ),
                self.policy,
                retry_floods=False,
            )
        except retry.Rejected as exc:
            if not exc.says("message is not modified"):
                raise

    async def draft(self, chat: ChatRef, draft_id: int, chunk: Chunk) -> None:
        """Show a reply being written as a draft (private chats only)."""
        target = _target(chat)
        await retry.call(
            "sendMessageDraft",
            lambda: self.bot.send_message_draft(
                chat_id=target["chat_id"],
                draft_id=draft_id,
                text=chunk.text,
                entities=_entities(chunk) or None,
                message_thread_id=target["message_thread_id"],
            ),
            self.policy,
            retry_floods=False,
        )

    async def typing(self, chat: ChatRef) -> None:
        await retry.call(
            "sendChatAction",
            lambda: self.bot.send_chat_action(action=ChatAction.TYPING, **_target(chat)),
            self.policy,
            retry_floods=False,
        )

    async def voice(self, chat: ChatRef, audio: bytes) -> MessageRef:
        sent = await retry.call(
            "sendVoice",
            lambda: self.bot.send_voice(
                voice=InputFile(audio, filename="reply.ogg"), **_target(chat)
            ),
            self.policy,
            creates_message=True,
        )
        return MessageRef(chat, str(sent.message_id))

    async def document(self, chat: ChatRef, name: str, data: bytes, caption: str) -> MessageRef:
        sent = await retry.call(
            "sendDocument",
            lambda: self.bot.send_document(
                document=InputFile(data, filename=name),
                caption=caption[:CAPTION_LIMIT] or None,
                **_target(chat),
            ),
            self.policy,
            creates_message=True,
        )
        return MessageRef(chat, str(sent.message_id))
