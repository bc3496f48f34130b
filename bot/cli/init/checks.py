"""The network checks of `clawling init`: local model servers, the model, the chat apps.

Each check returns an `Outcome` — never raises for what a remote side said or did not
say — so the wizard can show one line and let the person go on or try again. They use
the code the assistant itself runs: the model client (`bot/llm/`) and the chat adapters'
own credential checks (the ones `clawling doctor` runs), built through `bot/app/`.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from bot.app import build_app
from bot.chat.channels import SelfChecking
from bot.errors import ConfigError, TransportError
from bot.llm.client import LLM, LLMError, make_client
from bot.safety.redact import Redactor, mask_url
from bot.settings import Settings
from bot.settings.providers import LOCAL_PLACES, LocalPlace

PROBE_SECONDS = 3.0
MODEL_CHECK_SECONDS = 60.0  # a local server may load the model on its first request
CHAT_CHECK_SECONDS = 20.0


@dataclass(frozen=True)
class Outcome:
    """What a check found: whether it passed, and one line saying what happened."""

    ok: bool
    text: str


def report(console: Console, outcome: Outcome) -> None:
    """One line: ok or FAIL, then what happened (plain text: servers' words are not markup)."""
    mark = Text.from_markup("[green]ok[/]   " if outcome.ok else "[red]FAIL[/] ")
    console.print(mark + Text(" ".join(outcome.text.split())), highlight=False)


@dataclass(frozen=True)
class LocalServer:
    """A model server that answered GET /models."""

    label: str
    base_url: str
    provider: str
    models: list[str]


async def list_models(base_url: str, api_key: str | None = None) -> list[str] | None:
    """The model names `base_url` serves (GET /models), or None when nothing answers so."""
    client = make_client(base_url, api_key, timeout=PROBE_SECONDS, max_retries=0)
    try:
        page = await client.models.list()
        return [str(model.id) for model in page.data]
    except Exception:  # noqa: BLE001 - refused, timed out, not an OpenAI-compatible server
        return None
    finally:
        await client.close()


def _api_url(url: str) -> str:
    """A server's address as people write it (`http://host:8080`) made its API's URL: the
    OpenAI-compatible API lives under /v1 when no other path is given."""
    url = url.rstrip("/")
    return url if urlsplit(url).path else f"{url}/v1"


async def find_local_servers(extra_urls: Iterable[str] = ()) -> list[LocalServer]:
    """The model servers answering at `extra_urls` and at the usual local places, in that
    order; the usual places are asked all at once, so this takes at most a few seconds."""
    places = [LocalPlace("a model server", _api_url(url), "custom") for url in extra_urls]
    given = {place.base_url for place in places}
    places += [place for place in LOCAL_PLACES if place.base_url not in given]
    answers = await asyncio.gather(*(list_models(place.base_url) for place in places))
    return [
        LocalServer(place.label, place.base_url, place.provider, models)
        for place, models in zip(places, answers, strict=True)
        if models is not None
    ]


async def check_model(base_url: str, api_key: str | None, model: str) -> Outcome:
    """Ask `model` for a five-token answer; say whether and how fast it answered."""
    client = make_client(base_url, api_key, timeout=MODEL_CHECK_SECONDS, max_retries=0)
    redact = Redactor([api_key] if api_key else [])
    started = time.perf_counter()
    try:
        completion = await LLM(client, [model]).complete(
            [{"role": "user", "content": "Reply with: ok"}], max_tokens=5
        )
    except LLMError as exc:
        reason = str(exc).removeprefix("all models failed; last error: ")
        return Outcome(False, redact(f"{mask_url(base_url)} did not answer: {reason}"))
    finally:
        await client.close()
    elapsed = time.perf_counter() - started
    said = " ".join(completion.content.split())[:60]
    return Outcome(True, redact(f"{model} answered in {elapsed:.1f} s: {said!r}"))


async def check_chat_app(name: str, values: dict[str, Any]) -> Outcome:
    """Whether the chat app `name` ("telegram" or "slack") accepts the credentials in
    `values` (its settings group), checked by its adapter as `clawling doctor` does.

    Other settings of the group (TELEGRAM_BASE_URL, SLACK_API_URL) come from the
    environment, so a self-hosted Bot API server is asked, not api.telegram.org."""
    redact = Redactor(str(value) for value in values.values() if value)
    with tempfile.TemporaryDirectory(prefix="clawling-init-") as scratch:
        try:
            # Not the .env about to be replaced; and nothing lands in ./data.
            groups: dict[str, Any] = {"clawling": {"data_dir": scratch}, name: values}
            settings = Settings(_env_file=None, **groups)
        except ValidationError as exc:
            return Outcome(False, f"not accepted: {exc.errors()[0]['msg']}")
        app = build_app(settings)
        try:
            adapters = [a for a in app.outbox.adapters if isinstance(a, SelfChecking)]
            async with asyncio.timeout(CHAT_CHECK_SECONDS):
                return Outcome(True, redact(await adapters[0].check()))
        except ConfigError as exc:
            return Outcome(False, redact(str(exc).partition(" Fix: ")[0]))
        except (TransportError, TimeoutError) as exc:
            return Outcome(False, redact(f"no answer: {exc or 'timed out'}"))
        finally:
            await app.close()
