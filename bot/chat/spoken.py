"""Spoken replies: answers also sent as a voice note to people who asked (/voice on).

The written answer always goes first and stays the record; the voice note follows it
(Telegram: a voice note; elsewhere an audio file). Speaking is a model call for the
person (bot/llm/speech.py: their budget, `llm_calls` purpose "speech"). A voice note
that cannot be made or sent is logged and dropped: the person already has the text.
"""

from __future__ import annotations

import logging

from bot.chat.channels import ChatRef
from bot.chat.outbox import Outbox
from bot.errors import TransportError
from bot.llm.quota import QuotaExceeded
from bot.llm.speech import Speaker, SpeechFailed
from bot.llm.transcription import Listener
from memory.voice import VoicePreferences

log = logging.getLogger(__name__)


class SpokenReplies:
    def __init__(self, speaker: Speaker, preferences: VoicePreferences, outbox: Outbox) -> None:
        self._speaker = speaker
        self.preferences = preferences
        self._outbox = outbox

    async def after_answer(self, listener: Listener, chat: ChatRef, text: str) -> None:
        """Send `text` spoken when the person has /voice on."""
        if not text.strip() or not await self.preferences.wants_voice(listener.user_id):
            return
        try:
            audio = await self._speaker.speak(text, listener)
            await self._outbox.send_voice(chat, audio)
        except (SpeechFailed, QuotaExceeded, TransportError) as exc:
            log.warning("no spoken reply in conversation %s: %s", listener.conversation_id, exc)
