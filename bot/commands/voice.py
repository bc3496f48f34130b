"""/voice on|off: answers also spoken, per person (bot/chat/spoken.py)."""

from __future__ import annotations

from bot.commands.registry import Command, CommandContext, CommandRegistry
from memory.voice import VoicePreferences

USAGE = "Use: /voice on or /voice off — answers also sent as voice notes, or not."


def voice_commands(registry: CommandRegistry, preferences: VoicePreferences | None) -> None:
    """Register /voice; without a speech model (CLAWLING_SPEECH_MODEL) it says so."""

    async def voice(ctx: CommandContext) -> str:
        choice = ctx.args.strip().lower()
        if preferences is None:
            return "Spoken replies are not set up here (CLAWLING_SPEECH_MODEL is not set)."
        if choice not in ("on", "off"):
            state = "on" if await preferences.wants_voice(ctx.user.id) else "off"
            return f"Spoken replies are {state}. {USAGE}"
        await preferences.set_voice(ctx.user.id, choice == "on")
        if choice == "on":
            return "Spoken replies on: my answers now come as a voice note too."
        return "Spoken replies off: text only."

    registry.add(Command("voice", "answers also as voice notes: /voice on|off", voice))
