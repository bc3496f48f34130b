"""`OPENAI_*` (the model endpoint) and `CLAWLING_*` settings; those of tools and skills
are in tools.py, which `CoreSettings` inherits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.settings.fields import CommaList, split_commas
from bot.settings.tools import ToolSettings
from memory.db.engine import url_problem

# The queue is procrastinate on PostgreSQL; the database's own URL (with its driver) works.
QUEUE_SCHEMES = ("postgresql://", "postgres://", "postgresql+")

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


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
        # The client sends the key as an Authorization header, which aiohttp refuses to
        # combine with credentials in the URL (every request would fail).
        if "@" in urlsplit(value).netloc:
            raise ValueError("must not contain a user or password; put the key in OPENAI_API_KEY")
        return value.rstrip("/")


class CoreSettings(ToolSettings):
    """`CLAWLING_*` settings (those of tools and skills are in bot/settings/tools.py)."""

    model_config = ConfigDict(extra="ignore")

    model: str = "gpt-4.1-mini"
    fallback_models: CommaList = Field(default_factory=list)
    owners: CommaList = Field(default_factory=list)
    data_dir: Path = Path("data")
    database_url: str | None = None
    # Where background task steps are queued for `clawling worker` processes (issue 20);
    # unset: `clawling run` runs them itself.
    queue_url: str | None = None
    timezone: str = "UTC"
    max_concurrent_turns: int = Field(8, ge=1, le=1000)
    max_tool_steps: int = Field(12, ge=1, le=200)
    tool_output_chars: int = Field(16_000, ge=500)
    tool_timeout: float = Field(60.0, gt=0)
    llm_timeout: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    # The cap on each reply, sent as `max_tokens`; the context budget reserves it.
    max_output_tokens: int = Field(2_048, ge=16, le=1_000_000)
    # Whether answers stream: auto finds out per model whether tool calls can stream.
    stream: Literal["auto", "on", "off"] = "auto"
    # The model's context window for every model; unset: per model (below), else asked
    # of the endpoint, else learnt from its errors, else 32,000 (bot/llm/window.py).
    context_tokens: int | None = Field(None, ge=512)
    # Per model: "qwen2.5:7b=8192,llama3.2=4096" (CLAWLING_MODEL_CONTEXT_TOKENS).
    model_context_tokens: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    recall_tokens: int = Field(1_200, ge=0, le=100_000)
    embedding_model: str | None = None
    vision: bool = True
    # Voice notes (bot/chat/voice.py): the speech-to-text model at /audio/transcriptions
    # (unset: audio is not transcribed); its endpoint defaults to the model endpoint's.
    transcription_model: str | None = None
    transcription_base_url: str | None = None
    transcription_api_key: SecretStr | None = None
    max_audio_seconds: int = Field(600, ge=1, le=24 * 3600)
    # Spoken replies (/voice on): a text-to-speech model at the model endpoint's
    # /audio/speech, and its voice; unset model: no spoken replies.
    speech_model: str | None = None
    speech_voice: str = "alloy"
    max_file_chars: int = Field(100_000, ge=1_000)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = None
    shutdown_timeout: float = Field(20.0, ge=0)
    assistant_name: str = "Clawling"
    # Background work: jobs (bot/background/scheduler.py) and long-horizon tasks (bot/background/tasks.py).
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
    # People (issue 17): strangers who write privately get a pairing code for an owner.
    pairing: Literal["on", "off"] = "on"
    # Default budgets per person, in tokens (0 = unlimited; owners are unlimited unless
    # given their own): CLAWLING_DAILY_TOKENS, CLAWLING_MONTHLY_TOKENS.
    daily_tokens: int = Field(0, ge=0)
    monthly_tokens: int = Field(0, ge=0)
    # Prices per million tokens, per model, for /usage and `clawling users list`:
    # "gpt-4.1-mini=0.40/0.10/1.60" (input/cached input/output; CLAWLING_MODEL_PRICES).
    model_prices: Annotated[dict[str, tuple[float, float, float]], NoDecode] = Field(
        default_factory=dict
    )

    _split = field_validator("fallback_models", "owners", mode="before")(split_commas)

    @field_validator("transcription_base_url")
    @classmethod
    def _transcription_url(cls, value: str | None) -> str | None:
        return None if value is None else OpenAISettings._http_url(value)

    @field_validator("model_context_tokens", mode="before")
    @classmethod
    def _model_windows(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        windows: dict[str, int] = {}
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            model, _, tokens = entry.rpartition("=")
            if not model.strip() or not tokens.strip().isdigit() or int(tokens) < 512:
                raise ValueError(
                    f"entries must look like model=8192 (at least 512 tokens), not {entry!r}"
                )
            windows[model.strip()] = int(tokens)
        return windows

    @field_validator("model_prices", mode="before")
    @classmethod
    def _prices(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        prices: dict[str, tuple[float, float, float]] = {}
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            model, _, figures = entry.rpartition("=")
            parts = figures.split("/")
            try:
                numbers = tuple(float(p) for p in parts)
            except ValueError:
                numbers = ()
            if not model.strip() or len(numbers) != 3 or min(numbers) < 0:
                raise ValueError(
                    "entries must look like model=INPUT/CACHED/OUTPUT in dollars per million "
                    f"tokens (gpt-4.1-mini=0.40/0.10/1.60), not {entry!r}"
                )
            prices[model.strip()] = (numbers[0], numbers[1], numbers[2])
        return prices

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
        # Parsed here by the parser the engine uses, so a URL that would only fail (with a
        # traceback) when the engine is built is one line at start-up instead.
        problem = url_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(QUEUE_SCHEMES):
            scheme = value.partition("://")[0] if "://" in value else "no scheme"
            raise ValueError(f"the queue runs on PostgreSQL only, not {scheme}")
        return value

    @model_validator(mode="after")
    def _queue_beside_postgres(self) -> CoreSettings:
        database = self.database_url or "sqlite"
        if self.queue_url is not None and database.startswith("sqlite"):
            raise ValueError(
                "CLAWLING_QUEUE_URL is set but the database is SQLite, which one process "
                "uses alone. Fix: set CLAWLING_DATABASE_URL to PostgreSQL, or remove "
                "CLAWLING_QUEUE_URL to run background work inside `clawling run`"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// behind a proxy)")
        return value.rstrip("/") if value else None

    @field_validator("log_format", "stream", mode="before")
    @classmethod
    def _lower_word(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level


# What to tell the user for each setting that failed validation.
CORE_SETTING_FIXES: dict[str, str] = {
    "CLAWLING_TIMEZONE": "use an IANA name such as Europe/Berlin or America/New_York",
    "CLAWLING_DATABASE_URL": (
        "use sqlite:///path/to/file.db or postgresql+asyncpg://user:pass@host/db"
    ),
    "CLAWLING_QUEUE_URL": (
        "use postgresql://user:pass@host/db (it may be the database's own URL), or remove "
        "it to run background work inside `clawling run`"
    ),
    "OPENAI_BASE_URL": "use the endpoint's full URL, e.g. https://api.deepseek.com",
    "CLAWLING_LOG_LEVEL": "use DEBUG, INFO, WARNING or ERROR",
    "CLAWLING_LOG_FORMAT": "use text (default) or json (one JSON object a line)",
    "CLAWLING_OWNERS": "list platform:id entries separated by commas, e.g. telegram:12345",
    "CLAWLING_MODEL_CONTEXT_TOKENS": (
        "list model=tokens entries separated by commas, e.g. qwen2.5:7b=8192,llama3.2=4096"
    ),
    "CLAWLING_CONTEXT_TOKENS": "use the model's window in tokens (at least 512), e.g. 8192",
    "CLAWLING_RECALL_TOKENS": "use a whole number of tokens, 0 to turn automatic recall off",
    "CLAWLING_PUBLIC_URL": "use the https address where this server is reachable",
    "CLAWLING_MAX_OUTPUT_TOKENS": (
        "use a whole number of tokens for one reply, e.g. 2048 (at least 16)"
    ),
    "CLAWLING_STREAM": (
        "use auto (default: stream, and find out whether the server can stream tool "
        "calls), on (always stream) or off (never stream)"
    ),
}
