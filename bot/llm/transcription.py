"""Speech to text through the OpenAI-compatible `/audio/transcriptions` endpoint.

Any server that speaks it works (OpenAI, Groq, a local whisper server); the audio is
sent as it was received, since these endpoints take Ogg/Opus, MP3, M4A and WAV.

A transcription is a model call made for a person, like a turn or an embedding: it is
reserved against their budget first (the `Quota` seam; a spent budget raises
`QuotaExceeded` and nothing is sent) and recorded in `llm_calls` with purpose
"transcription". Whisper-style servers report no tokens, so the call is counted as
`AUDIO_TOKENS_PER_SECOND` of audio in and the transcript's estimate out (marked
estimated); servers that bill in tokens (gpt-4o-transcribe) are counted as they report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx2
import openai
from openai import AsyncOpenAI

from bot.agent.prompt import estimate_tokens
from bot.llm.client import UsageRecorder
from bot.llm.failures import judge
from bot.llm.quota import Quota
from memory.usage import LLMCallRecord

SETTING = "CLAWLING_TRANSCRIPTION_MODEL"
# OpenAI's audio models take about ten tokens a second of speech.
AUDIO_TOKENS_PER_SECOND = 10


class TranscriptionFailed(RuntimeError):
    """The endpoint did not transcribe the audio; the message says why in one line."""


@dataclass(frozen=True)
class Audio:
    """One recording as it came: its bytes, file name, type and length when known."""

    data: bytes
    name: str
    mime_type: str
    seconds: float


@dataclass(frozen=True)
class Listener:
    """The person and conversation a transcription is made for."""

    user_id: int
    conversation_id: int


class Transcriber:
    """`transcribe(audio, listener)` → the text spoken, through one transcription model."""

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        recorder: UsageRecorder | None = None,
        quota: Quota | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self._recorder = recorder
        self._quota = quota

    async def transcribe(self, audio: Audio, listener: Listener) -> str:
        """The transcript. Raises QuotaExceeded (nothing sent) or TranscriptionFailed."""
        heard = int(audio.seconds * AUDIO_TOKENS_PER_SECOND) + 1
        hold = None
        if self._quota is not None:
            hold = await self._quota.reserve(listener.user_id, lambda: heard)
        started = time.perf_counter()
        try:
            answer = await self._client.audio.transcriptions.create(
                model=self.model,
                file=(audio.name, audio.data, audio.mime_type),
                response_format="json",
            )
        except (openai.OpenAIError, httpx2.TransportError) as exc:
            timeout = self._client.timeout
            seconds = timeout if isinstance(timeout, int | float) else 0
            failure = judge(exc, base_url=str(self._client.base_url), model=self.model,
                            timeout=seconds)  # fmt: skip
            await self._record(listener, started, hold, heard, 0, True, failure.detail)
            raise TranscriptionFailed(failure.detail) from exc
        except BaseException:
            if hold is not None and self._quota is not None:
                await self._quota.release(hold)  # cancelled: no record replaces the hold
            raise
        text = (answer.text or "").strip()
        usage = getattr(answer, "usage", None)
        if getattr(usage, "type", None) == "tokens":
            inputs, outputs = usage.input_tokens, usage.output_tokens  # type: ignore[union-attr]
            await self._record(listener, started, hold, inputs, outputs, False)
        else:
            await self._record(listener, started, hold, heard, estimate_tokens(text), True)
        return text

    async def _record(
        self,
        listener: Listener,
        started: float,
        hold: int | None,
        inputs: int,
        outputs: int,
        estimated: bool,
        error: str | None = None,
    ) -> None:
        await record_audio_call(
            self._recorder,
            self._quota,
            LLMCallRecord(
                purpose="transcription",
                model=self.model,
                ok=error is None,
                error=error,
                prompt_tokens=inputs if error is None else 0,
                completion_tokens=outputs,
                estimated=estimated,
                duration_ms=int((time.perf_counter() - started) * 1000),
                conversation_id=listener.conversation_id,
                user_id=listener.user_id,
                hold_id=hold,
            ),
        )


async def record_audio_call(
    recorder: UsageRecorder | None, quota: Quota | None, record: LLMCallRecord
) -> None:
    """Store an audio call's usage row, which settles its hold; with nowhere to store
    it, the hold is released instead (transcription and speech alike)."""
    if recorder is not None:
        await recorder.record_llm_call(record)
    elif record.hold_id is not None and quota is not None:
        await quota.release(record.hold_id)
