"""Voice: the session manager's `Ears` (transcription, CLAWLING_TRANSCRIPTION_MODEL) and
spoken replies with /voice (CLAWLING_SPEECH_MODEL)."""

from __future__ import annotations

from openai import AsyncOpenAI

from bot.chat.outbox import Outbox
from bot.chat.spoken import SpokenReplies
from bot.chat.voice import Ears
from bot.commands.registry import CommandRegistry
from bot.commands.voice import voice_commands
from bot.llm.quota import Quota
from bot.llm.speech import Speaker
from bot.llm.transcription import Transcriber
from bot.settings import Settings
from memory.usage import UsageStore
from memory.voice import VoicePreferences


def build_ears(
    settings: Settings, client: AsyncOpenAI, usage: UsageStore, quota: Quota
) -> Ears | None:
    """None without a transcription model (audio is then described honestly).

    The transcription endpoint and key default to the model endpoint's; a different one
    (Groq, a local whisper server) is a copy of the model client, which shares its
    connections and is closed with it."""
    core = settings.core
    if not core.transcription_model:
        return None
    if core.transcription_base_url or core.transcription_api_key:
        key = core.transcription_api_key
        client = client.copy(
            base_url=core.transcription_base_url or str(client.base_url),
            api_key=key.get_secret_value() if key else client.api_key,
        )
    transcriber = Transcriber(client, core.transcription_model, recorder=usage, quota=quota)
    return Ears(transcriber, core.data_dir, core.max_audio_seconds)


def build_spoken(
    settings: Settings,
    client: AsyncOpenAI,
    usage: UsageStore,
    quota: Quota,
    preferences: VoicePreferences,
    outbox: Outbox,
    commands: CommandRegistry,
) -> SpokenReplies | None:
    """Spoken replies and /voice; without a speech model /voice says it is not set up."""
    core = settings.core
    if not core.speech_model:
        voice_commands(commands, None)
        return None
    voice_commands(commands, preferences)
    speaker = Speaker(client, core.speech_model, core.speech_voice, recorder=usage, quota=quota)
    return SpokenReplies(speaker, preferences, outbox)
