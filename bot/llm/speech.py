"""Text to speech through the OpenAI-compatible `/audio/speech` endpoint (spoken replies).

Like every model call made for a person, it is reserved against their budget first and
recorded in `llm_calls` (purpose "speech"), counted as the text's estimated tokens.
The audio comes back as Ogg/Opus, what Telegram plays as a voice note.
"""

from __future__ import annotations

import time

import httpx2
import openai
from openai import AsyncOpenAI

from bot.agent.prompt import estimate_tokens
from bot.llm.client import UsageRecorder
from bot.llm.quota import Quota
from bot.llm.transcription import Listener, record_audio_call
from memory.usage import LLMCallRecord

# OpenAI's speech endpoint takes at most 4096 characters of input.
MAX_SPEECH_CHARS = 4096


class SpeechFailed(RuntimeError):
    """The endpoint did not speak the text."""


class Speaker:
    """`speak(text, listener)` → Ogg/Opus audio of the text, in one configured voice."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        voice: str,
        *,
        recorder: UsageRecorder | None = None,
        quota: Quota | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self.voice = voice
        self._recorder = recorder
        self._quota = quota

    async def speak(self, text: str, listener: Listener) -> bytes:
        """The audio. Raises QuotaExceeded (nothing sent) or SpeechFailed."""
        said = text[:MAX_SPEECH_CHARS]
        tokens = estimate_tokens(said)
        hold = None
        if self._quota is not None:
            hold = await self._quota.reserve(listener.user_id, lambda: tokens)
        started = time.perf_counter()
        try:
            answer = await self._client.audio.speech.create(
                model=self.model, voice=self.voice, input=said, response_format="opus"
            )
            audio = answer.content
        except (openai.OpenAIError, httpx2.TransportError) as exc:
            await self._record(listener, started, hold, 0, type(exc).__name__)
            raise SpeechFailed(str(exc)) from exc
        except BaseException:
            if hold is not None and self._quota is not None:
                await self._quota.release(hold)
            raise
        await self._record(listener, started, hold, tokens)
        return audio

    async def _record(
        self,
        listener: Listener,
        started: float,
        hold: int | None,
        tokens: int,
        error: str | None = None,
    ) -> None:
        await record_audio_call(
            self._recorder,
            self._quota,
            LLMCallRecord(
                purpose="speech",
                model=self.model,
                ok=error is None,
                error=error,
                prompt_tokens=tokens,
                estimated=True,
                duration_ms=int((time.perf_counter() - started) * 1000),
                conversation_id=listener.conversation_id,
                user_id=listener.user_id,
                hold_id=hold,
            ),
        )
