"""Voice notes and audio files → the text of the person's message.

The rules, the same for every chat app:
- Without a transcription model (CLAWLING_TRANSCRIPTION_MODEL) audio is left to
  attachments.py, which tells the model honestly that it cannot listen.
- Audio longer than CLAWLING_MAX_AUDIO_SECONDS is refused before any call, with the
  limit in the note. Where the platform gives no length (Slack), the size stands in for
  it at `BYTES_PER_SECOND` (256 kbit/s, the top of ordinary speech and music encodings).
- The transcript becomes the message text, marked "[voice message, transcribed]", so it
  is stored, searched and recalled like typed text.
- A voice note the person recorded is their own words: trusted, like typing. An audio
  file they shared (a forwarded recording, a podcast) is outside content: marked
  untrusted, as a shared text file is.
- A failed transcription keeps the audio under the data dir (referenced by the message,
  like images) and the note asks the person to send it again; nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.chat.attachments import Absorbed
from bot.chat.channels import Attachment
from bot.llm.quota import QuotaExceeded
from bot.llm.transcription import Audio, Listener, Transcriber, TranscriptionFailed
from bot.safety.untrusted import mark_untrusted
from memory.conversations import SavedFile

log = logging.getLogger(__name__)

BYTES_PER_SECOND = 32_000
# OpenAI's transcription endpoint takes files up to 25 MB.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
MARK = "[voice message, transcribed]"
SUFFIXES = {"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/wav": ".wav"}


@dataclass
class Heard:
    """What the audio of one message said, or why it could not be heard."""

    parts: list[str] = field(default_factory=list)
    saved: list[SavedFile] = field(default_factory=list)
    untrusted: bool = False
    others: list[Attachment] = field(default_factory=list)  # everything that is not audio

    def joined(self, absorbed: Absorbed) -> Absorbed:
        """The message with the transcripts after its own text and files."""
        parts = [absorbed.text, *self.parts] if absorbed.text else self.parts
        return Absorbed(
            "\n\n".join(parts),
            [*absorbed.saved, *self.saved],
            absorbed.untrusted or self.untrusted,
        )


class Ears:
    """Transcribes a message's audio for the person who sent it (see the module's rules)."""

    def __init__(self, transcriber: Transcriber, root: Path, max_seconds: int) -> None:
        self._transcriber = transcriber
        self._root = root
        self.max_seconds = max_seconds

    async def hear(self, listener: Listener, attachments: Sequence[Attachment]) -> Heard:
        heard = Heard()
        for item in attachments:
            if item.kind != "audio" or item.note:
                heard.others.append(item)
            else:
                await self._one(listener, item, heard)
        return heard

    def too_long(self, item: Attachment) -> str | None:
        """The refusal for audio over the limit, or None."""
        limit = self.max_seconds
        if item.seconds is not None:
            if item.seconds <= limit:
                return None
            length = f"{_minutes(item.seconds)} long"
        else:
            cap = min(limit * BYTES_PER_SECOND, MAX_AUDIO_BYTES)
            if len(item.data) <= cap:
                return None
            length = f"{len(item.data) / 1024 / 1024:.1f} MB (over the {cap / 1024 / 1024:.1f} MB allowed)"
        return (
            f"[Voice/audio message {item.name} is {length}; the limit is {_minutes(limit)}, "
            "so it was not transcribed. Tell the person, and ask for a shorter recording "
            "or the part that matters.]"
        )

    async def _one(self, listener: Listener, item: Attachment, heard: Heard) -> None:
        refusal = self.too_long(item)
        if refusal is not None:
            heard.parts.append(refusal)
            return
        audio = Audio(item.data, item.name, item.mime_type, self._seconds(item))
        try:
            text = await self._transcriber.transcribe(audio, listener)
        except QuotaExceeded as exc:
            heard.parts.append(
                f"[Voice message {item.name} was not transcribed: {exc.user_message}]"
            )
            return
        except TranscriptionFailed as exc:
            log.warning("could not transcribe %s: %s", item.name, exc)
            heard.saved.append(self._keep(listener.conversation_id, item))
            heard.parts.append(
                f"[Voice message {item.name} could not be transcribed (the transcription "
                "service failed); the audio is kept. Tell the person in one short sentence "
                "and ask them to send it again or type it.]"
            )
            return
        if not text:
            heard.parts.append(f"[Voice message {item.name}: no speech was heard in it.]")
        elif item.recorded:
            heard.parts.append(f"{MARK} {text}")
        else:
            heard.parts.append(f"{MARK}\n" + mark_untrusted(f"audio file {item.name}", text))
            heard.untrusted = True

    def _seconds(self, item: Attachment) -> float:
        return item.seconds if item.seconds is not None else len(item.data) / BYTES_PER_SECOND

    def _keep(self, conversation_id: int, item: Attachment) -> SavedFile:
        """The audio under the data dir, as images are kept, so it is not lost."""
        suffix = Path(item.name).suffix.lower() or SUFFIXES.get(item.mime_type, ".audio")
        relative = Path("files") / str(conversation_id) / f"{uuid.uuid4().hex}{suffix}"
        path = self._root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        return SavedFile("audio", item.name, item.mime_type, relative.as_posix(), len(item.data))


def _minutes(seconds: float) -> str:
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} seconds"
    minutes, rest = divmod(whole, 60)
    if rest:
        return f"{minutes} min {rest:02d} s"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
