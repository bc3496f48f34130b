"""The bundled-skill runs use the same app factory as the bot tests."""

from tests.bot.conftest import make_app

__all__ = ["make_app"]
