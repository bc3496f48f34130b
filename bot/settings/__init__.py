"""Settings: one pydantic-settings class, read from the environment and `.env`; each
group of variables in its own module here. Nothing else reads the environment.

Variables are grouped by prefix (`OPENAI_*`, `CLAWLING_*`, and one group per
chat platform); each group is a nested model so `OPENAI_API_KEY` lands in
`settings.openai.api_key`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args

from dotenv import dotenv_values
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.safety.redact import (
    MIN_SECRET_LENGTH,
    REDACTED,
    Redactor,
    is_secret_name,
    url_secrets,
)
from bot.settings.channels import CHANNEL_SETTING_FIXES, SlackSettings, TelegramSettings
from bot.settings.core import (
    CORE_SETTING_FIXES,
    OPENAI_DEFAULT_BASE_URL,
    CoreSettings,
    OpenAISettings,
)
from bot.settings.names import unknown_settings
from bot.settings.tools import TOOL_SETTING_FIXES

__all__ = [
    "CoreSettings",
    "OpenAISettings",
    "Settings",
    "SlackSettings",
    "TelegramSettings",
    "describe_validation_error",
    "load_settings",
    "unknown_variables",
]


class Settings(BaseSettings):
    """Everything Clawling can be configured with."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        # `OPENAI_API_KEY=` copied from .env.example means "not set", in .env and the
        # environment alike.
        env_ignore_empty=True,
        extra="ignore",
    )

    openai: OpenAISettings = OpenAISettings()
    clawling: CoreSettings = CoreSettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()

    @property
    def core(self) -> CoreSettings:
        return self.clawling

    @property
    def database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data dir."""
        url = self.clawling.database_url
        if url:
            return url
        return f"sqlite:///{(self.clawling.data_dir / 'clawling.db').as_posix()}"

    @property
    def models(self) -> list[str]:
        """The main model followed by the fallbacks, without repeats."""
        ordered = [self.clawling.model, *self.clawling.fallback_models]
        return list(dict.fromkeys(ordered))

    def llm_problem(self) -> str | None:
        """Why the model endpoint cannot be used, or None when it is configured."""
        on_openai = self.openai.base_url == OPENAI_DEFAULT_BASE_URL
        if on_openai and self.openai.api_key is None:
            return (
                "No model is configured. Set OPENAI_API_KEY (in .env or the environment) "
                "for OpenAI, or OPENAI_BASE_URL and CLAWLING_MODEL for another "
                "OpenAI-compatible endpoint (DeepSeek, Kimi, GLM, Ollama, vLLM; see README)."
            )
        return None


_FIXES: dict[str, str] = {
    **CORE_SETTING_FIXES,
    **CHANNEL_SETTING_FIXES,
    **TOOL_SETTING_FIXES,
}


def _env_name(loc: tuple[int | str, ...]) -> str:
    return "_".join(str(part) for part in loc[:2]).upper()


def _secret_setting(loc: tuple[int | str, ...]) -> bool:
    """Whether a setting's value must never be shown: a `SecretStr`, the MCP servers (their
    env and headers hold tokens), or a name that says it holds a secret."""
    group = Settings.model_fields.get(str(loc[0]))
    nested = getattr(group.annotation, "model_fields", {}) if group is not None else {}
    field = nested.get(str(loc[1]))
    annotation = field.annotation if field is not None else None
    typed_secret = SecretStr in (annotation, *get_args(annotation))
    return typed_secret or loc[1] == "mcp_servers" or is_secret_name(_env_name(loc))


def describe_validation_error(exc: ValidationError) -> list[str]:
    """One line per bad setting: its variable name, what is wrong and the fix. The value
    of a secret setting is never shown; other values are shown with the credentials in
    URLs masked."""
    lines = []
    for error in exc.errors():
        given = error.get("input")
        # Whatever the value or message may hold of it: URL passwords and token shapes.
        redact = Redactor(url_secrets(given) if isinstance(given, str) else ())
        message = error["msg"].removeprefix("Value error, ")
        if len(error["loc"]) < 2:
            # A check across several settings: its message names them and the fix.
            lines.append(f"{redact(message)}.")
            continue
        name = _env_name(error["loc"])
        shown = ""
        if _secret_setting(error["loc"]):
            # A value too short to be a secret would garble the message's words instead.
            if isinstance(given, str) and len(given.strip()) >= MIN_SECRET_LENGTH:
                message = message.replace(given, REDACTED)
        elif isinstance(given, str | int | float) and repr(given) not in message:
            # An `@` outside a URL's readable userinfo may end a password we cannot
            # find (`scheme:/user:pw@host`): such a value is not shown.
            if not isinstance(given, str) or "@" not in given or url_secrets(given):
                shown = f" (got {given!r})"
        where = ".".join(str(part) for part in error["loc"][2:])
        at = f" (in {where})" if where else ""
        fix = _FIXES.get(
            name, "correct it in .env or the environment, or remove it for the default"
        )
        lines.append(f"Setting {name} is invalid{at}: {redact(message + shown)}. Fix: {fix}.")
    return lines


def _secret_files(env_file: Path | None) -> dict[str, dict[str, str]]:
    """Values of `NAME_FILE` variables (Docker secrets): NAME's value is read from the file."""
    sources: dict[str, str | None] = {}
    dotenv = env_file if env_file is not None else Path(".env")
    if dotenv.is_file():
        sources.update(dotenv_values(dotenv))
    sources.update(os.environ)
    found: dict[str, dict[str, str]] = {}
    for name, path in sources.items():
        if not name.endswith("_FILE") or not path:
            continue
        base = name.removesuffix("_FILE")
        group, _, field_name = base.lower().partition("_")
        info = Settings.model_fields.get(group)
        nested = getattr(info.annotation, "model_fields", {}) if info is not None else {}
        if field_name not in nested:
            continue
        if sources.get(base):
            raise ConfigError(f"Both {base} and {name} are set. Fix: keep only one of them.")
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"Setting {name} points to {path}, which cannot be read ({exc.strerror}). "
                f"Fix: mount the secret file there, or set {base} directly."
            ) from None
        found.setdefault(group, {})[field_name] = value
    return found


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Read settings; raise ConfigError with one line per bad setting."""
    kwargs: dict[str, Any] = {**_secret_files(env_file), **overrides}
    if env_file is not None:
        kwargs["_env_file"] = env_file
    try:
        return Settings(**kwargs)
    except ValidationError as exc:
        raise ConfigError("\n".join(describe_validation_error(exc))) from None


def unknown_variables(env_file: Path | None = None) -> list[str]:
    """Names in `.env` or the environment that look like settings but are none (likely
    typos), each as a sentence with the closest real setting (see names.py)."""
    groups = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    return unknown_settings(groups, env_file)
