"""Settings: one pydantic-settings class, read from the environment and `.env`.

Variables are grouped by prefix (`OPENAI_*`, `CLAWLING_*`, and one group per
chat platform); each group is a nested model so `OPENAI_API_KEY` lands in
`settings.openai.api_key`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError
from bot.settings.tools import TOOL_SETTING_FIXES, ToolSettings

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
TELEGRAM_DEFAULT_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
SLACK_DEFAULT_API_URL = "https://slack.com/api/"


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


class OpenAISettings(BaseModel):
    """The model endpoint: any OpenAI-compatible API."""

    model_config = ConfigDict(extra="ignore")

    api_key: SecretStr | None = None
    base_url: str = OPENAI_DEFAULT_BASE_URL

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class CoreSettings(ToolSettings):
    """`CLAWLING_*` settings (those of tools and skills are in bot/tool_settings.py)."""

    model_config = ConfigDict(extra="ignore")

    model: str = "gpt-4.1-mini"
    fallback_models: CommaList = Field(default_factory=list)
    owners: CommaList = Field(default_factory=list)
    data_dir: Path = Path("data")
    database_url: str | None = None
    timezone: str = "UTC"
    max_concurrent_turns: int = Field(8, ge=1, le=1000)
    max_tool_steps: int = Field(12, ge=1, le=200)
    tool_output_chars: int = Field(16_000, ge=500)
    tool_timeout: float = Field(60.0, gt=0)
    llm_timeout: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    context_tokens: int = Field(32_000, ge=2_000)
    recall_tokens: int = Field(1_200, ge=0, le=100_000)
    embedding_model: str | None = None
    vision: bool = True
    max_file_chars: int = Field(100_000, ge=1_000)
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None
    shutdown_timeout: float = Field(20.0, ge=0)
    assistant_name: str = "Clawling"
    # Background work: jobs (bot/scheduler.py) and long-horizon tasks (bot/tasks.py).
    job_grace_seconds: int = Field(3600, ge=1)
    job_late_after_seconds: float = Field(60.0, ge=0)
    heartbeat_minutes: int = Field(30, ge=1, le=24 * 60)
    task_max_steps: int = Field(100, ge=1, le=100_000)
    task_max_tokens: int = Field(1_000_000, ge=1_000)
    task_max_seconds: int = Field(3600, ge=10)
    task_context_tokens: int = Field(12_000, ge=2_000)
    task_concurrency: int = Field(4, ge=1, le=100)
    tasks_per_user: int = Field(2, ge=1, le=100)
    subtask_concurrency: int = Field(3, ge=1, le=50)
    max_subtasks: int = Field(10, ge=1, le=100)
    task_goal_chars: int = Field(8_000, ge=200, le=1_000_000)
    task_progress_seconds: float = Field(5.0, ge=0.1)

    _split = field_validator("fallback_models", "owners", mode="before")(_split_commas)

    @field_validator("owners")
    @classmethod
    def _platform_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if ":" not in v or not v.split(":", 1)[1]]
        if bad:
            raise ValueError(
                f"entries must look like telegram:12345 or slack:U0123, not {bad[0]!r}"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("only sqlite and postgresql URLs are supported")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// behind a proxy)")
        return value.rstrip("/") if value else None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level


class TelegramSettings(BaseModel):
    """`TELEGRAM_*` settings; the Telegram channel runs when a bot token is set."""

    model_config = ConfigDict(extra="ignore")

    bot_token: SecretStr | None = None
    base_url: str = TELEGRAM_DEFAULT_BASE_URL
    base_file_url: str = TELEGRAM_DEFAULT_FILE_URL
    allowed_users: CommaList = Field(default_factory=list)
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr | None = None

    _split = field_validator("allowed_users", mode="before")(_split_commas)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\d+:[\w-]{20,}", value.get_secret_value()):
            raise ValueError("does not look like a bot token (digits, a colon, then letters)")
        return value

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("allowed_users")
    @classmethod
    def _user_entries(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not (v.isdigit() or re.fullmatch(r"@\w{3,}", v))]
        if bad:
            raise ValueError(f"entries must be numeric user ids or @usernames, not {bad[0]!r}")
        return value

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


def _token_with_prefix(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    if value is None or not value.get_secret_value().strip():
        return None
    if not value.get_secret_value().startswith(prefix):
        raise ValueError(f"must be {what}, which starts with {prefix}")
    return SecretStr(value.get_secret_value().strip())


class SlackSettings(BaseModel):
    """`SLACK_*` settings. Socket Mode with an app token; HTTP Events API with a signing secret."""

    model_config = ConfigDict(extra="ignore")

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = SLACK_DEFAULT_API_URL
    allowed_users: CommaList = Field(default_factory=list)

    _split = field_validator("allowed_users", mode="before")(_split_commas)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_with_prefix(value, "xoxb-", "a bot token")

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_with_prefix(value, "xapp-", "an app-level token")

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") + "/"  # the SDK joins method names onto it

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if self.bot_token is None:
            if self.app_token or self.signing_secret or self.allowed_users:
                raise ValueError(
                    "SLACK_BOT_TOKEN is missing while other SLACK_* settings are set. Fix: set "
                    "it to the app's Bot User OAuth Token (xoxb-...), or remove the SLACK_* settings"
                )
        elif self.app_token is None and self.signing_secret is None:
            raise ValueError(
                "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is. "
                "Fix: set SLACK_APP_TOKEN (xapp-..., Socket Mode) or SLACK_SIGNING_SECRET "
                "(HTTP Events API at /slack/events); see the README's Slack section"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


class Settings(BaseSettings):
    """Everything Clawling can be configured with."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="_",
        env_nested_max_split=1,
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


# What to tell the user for each setting that failed validation.
_FIXES: dict[str, str] = {
    "CLAWLING_TIMEZONE": "use an IANA name such as Europe/Berlin or America/New_York",
    "CLAWLING_DATABASE_URL": (
        "use sqlite:///path/to/file.db or postgresql+asyncpg://user:pass@host/db"
    ),
    "OPENAI_BASE_URL": "use the endpoint's full URL, e.g. https://api.deepseek.com",
    "CLAWLING_LOG_LEVEL": "use DEBUG, INFO, WARNING or ERROR",
    "CLAWLING_OWNERS": "list platform:id entries separated by commas, e.g. telegram:12345",
    "CLAWLING_RECALL_TOKENS": "use a whole number of tokens, 0 to turn automatic recall off",
    "CLAWLING_PUBLIC_URL": "use the https address where this server is reachable",
    "TELEGRAM_BOT_TOKEN": "copy the token @BotFather gave you (like 123456:ABC-DEF...)",
    "TELEGRAM_ALLOWED_USERS": "list numeric Telegram user ids or @usernames, separated by commas",
    "TELEGRAM_MODE": "use polling (default) or webhook",
    "TELEGRAM_WEBHOOK_SECRET": "pick a random string of letters, digits, _ and -",
    "TELEGRAM_BASE_URL": "use the Bot API address ending in /bot, e.g. http://localhost:8081/bot",
    "TELEGRAM_BASE_FILE_URL": "use the file address ending in /file/bot",
    "SLACK_BOT_TOKEN": "use the Bot User OAuth Token from the app's OAuth & Permissions page",
    "SLACK_APP_TOKEN": (
        "create an app-level token with the connections:write scope under Basic Information"
    ),
    "SLACK_API_URL": "use the Web API base URL, e.g. https://slack.com/api/",
    **TOOL_SETTING_FIXES,
}


def _env_name(loc: tuple[int | str, ...]) -> str:
    return "_".join(str(part) for part in loc[:2]).upper()


def describe_validation_error(exc: ValidationError) -> list[str]:
    """One line per bad setting: its variable name, what is wrong and the fix."""
    lines = []
    for error in exc.errors():
        name = _env_name(error["loc"])
        given = error.get("input")
        message = error["msg"].removeprefix("Value error, ")
        if len(error["loc"]) < 2:
            # A check across several settings: its message names them and the fix.
            lines.append(f"{message}.")
            continue
        shown = ""
        secret = any(word in name for word in ("KEY", "TOKEN", "SECRET", "PASSWORD", "MCP_SERVERS"))
        if isinstance(given, str | int | float) and not secret and repr(given) not in message:
            shown = f" (got {given!r})"
        fix = _FIXES.get(
            name, "correct it in .env or the environment, or remove it for the default"
        )
        lines.append(f"Setting {name} is invalid: {message}{shown}. Fix: {fix}.")
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


def unknown_clawling_variables() -> list[str]:
    """`CLAWLING_*` environment variables that match no setting (likely typos)."""
    fields = set(CoreSettings.model_fields)
    return sorted(
        name
        for name in os.environ
        if name.startswith("CLAWLING_")
        and name.removeprefix("CLAWLING_").removesuffix("_FILE").lower() not in fields
        and not name.startswith("CLAWLING_TEST_")
    )
