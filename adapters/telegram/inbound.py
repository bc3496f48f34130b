"""Telegram messages → what the assistant needs to know: is it for us, from whom, what text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Chat, Message, MessageEntity

from bot.commands.registry import CommandRegistry

CHANNEL = "telegram"
PEOPLE_CHATS = {Chat.PRIVATE, Chat.GROUP, Chat.SUPERGROUP}


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str

    @property
    def mention(self) -> str:
        return f"@{self.username}".lower()


def from_a_person(message: Message) -> bool:
    """Sent by a person (not a bot, a channel or an anonymous admin) in a chat with people."""
    user = message.from_user
    return (
        user is not None
        and not user.is_bot
        and message.sender_chat is None
        and message.chat.type in PEOPLE_CHATS
    )


def has_media(message: Message) -> bool:
    return any(
        (
            message.photo,
            message.document,
            message.voice,
            message.audio,
            message.video_note,
            message.video,
        )
    )


def message_text(message: Message) -> str:
    """The words of the message: its text, caption, or the emoji of a sticker."""
    if message.text:
        return message.text
    if message.caption:
        return message.caption
    if message.sticker is not None:
        return f"[Sticker {message.sticker.emoji or ''}]".replace(" ]", "]")
    return ""


def _entities(message: Message, kinds: list[str | None]) -> dict[MessageEntity, str]:
    if message.text:
        return message.parse_entities(kinds)
    if message.caption:
        return message.parse_caption_entities(kinds)
    return {}


def is_addressed(message: Message, me: BotIdentity, commands: CommandRegistry) -> bool:
    """In a group: the bot was @mentioned, replied to, or given one of its commands."""
    if message.chat.type == Chat.PRIVATE:
        return True
    reply = message.reply_to_message
    # In forum topics every message "replies" to the topic's opening service message.
    if (
        reply is not None
        and reply.forum_topic_created is None
        and reply.from_user is not None
        and reply.from_user.id == me.id
    ):
        return True
    found = _entities(message, [MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, text in found.items():
        if entity.type == MessageEntity.MENTION and text.lower() == me.mention:
            return True
        if entity.user is not None and entity.user.id == me.id:
            return True
    return _is_our_command(message, me, commands)


def _is_our_command(message: Message, me: BotIdentity, commands: CommandRegistry) -> bool:
    for entity, text in _entities(message, [MessageEntity.BOT_COMMAND]).items():
        if entity.offset != 0:
            continue
        name, _, target = text[1:].partition("@")
        if target:
            return target.lower() == me.username.lower()
        return commands.get(name.lower()) is not None
    return False


def clean_text(text: str, me: BotIdentity) -> str:
    """The text without @mentions of the bot (kept when nothing else is left)."""
    cleaned = re.sub(rf"(?<![\w/])@{re.escape(me.username)}\b", "", text, flags=re.IGNORECASE)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return cleaned or text.strip()


def thread_of(message: Message) -> str:
    """A forum topic is its own conversation; other chats have no threads."""
    if message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return ""
