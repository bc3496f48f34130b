"""`clawling init`: set Clawling up by writing `.env` — a wizard in a terminal
(`wizard.py`), or in one go from options for scripts and compose (`--yes`, here).

Both end the same way: the model is asked for one short answer (`checks.py`), the chat
apps' tokens are checked, and `.env` is written with mode 0600 (`envfile.py`). An
existing `.env` is only touched after a yes (the wizard) or `--force` (with `--yes`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.prompt import Confirm

from bot.cli.init.checks import Outcome, check_chat_app, check_model, list_models, report
from bot.cli.init.envfile import ENV_FILE, Setup, save
from bot.cli.init.values import (
    base_url_problem,
    normalise_url,
    owner_problem,
    slack_token_problem,
    telegram_token_problem,
)
from bot.cli.init.wizard import Wizard
from bot.cli.launch import EXIT_CONFIG, fail
from bot.settings.providers import BY_NAME, NAMES, Provider, key_from_environment

CHOICES = ", ".join(NAMES)


def has_terminal() -> bool:
    """Whether a person is there to answer questions (stdin and stdout are terminals)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def init(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Ask nothing: take everything from the options.")
    ] = False,
    provider: Annotated[str | None, typer.Option(help=f"Model provider: {CHOICES}.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="The endpoint's URL (needed for custom; else the provider's)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (else the provider's default).")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="The endpoint's API key.")] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Read the API key from this environment variable instead."),
    ] = None,
    telegram_token: Annotated[
        str | None, typer.Option(help="Telegram bot token from @BotFather.")
    ] = None,
    slack_bot_token: Annotated[
        str | None, typer.Option(help="Slack Bot User OAuth Token (xoxb-...).")
    ] = None,
    slack_app_token: Annotated[
        str | None, typer.Option(help="Slack app-level token (xapp-..., Socket Mode).")
    ] = None,
    owner: Annotated[
        list[str] | None,
        typer.Option(help="platform:id always allowed to talk to it, e.g. telegram:12345."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --yes: update an existing .env.")
    ] = False,
    skip_checks: Annotated[
        bool,
        typer.Option(
            "--skip-checks", help="With --yes: write .env without asking the model or chat apps."
        ),
    ] = False,
    probe: Annotated[
        list[str] | None,
        typer.Option(help="Also look for a model server at this URL (besides the usual ports)."),
    ] = None,
) -> None:
    """Set Clawling up: model provider, key, model, Telegram and Slack; writes .env."""
    # Checks report failures themselves; the client's warnings would repeat them.
    if not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
    if not yes:
        given = {
            "--api-key": api_key,
            "--api-key-env": api_key_env,
            "--telegram-token": telegram_token,
            "--slack-bot-token": slack_bot_token,
            "--slack-app-token": slack_app_token,
            "--owner": owner,
            "--force": force or None,
            "--skip-checks": skip_checks or None,
        }
        extra = next((name for name, value in given.items() if value), None)
        if extra is not None:
            _usage(
                f"{extra} only applies with --yes. Fix: add --yes, or leave it out and "
                "answer the questions."
            )
        if not has_terminal():
            _usage(
                "clawling init asks questions and needs a terminal. Fix: run it in a "
                "terminal, or pass --yes --provider NAME for a set-up without questions."
            )
        if provider is not None:
            provider = _provider(provider).name
        done = Wizard(Console(highlight=False), provider, base_url, model, probe or []).run()
        raise typer.Exit(0 if done else 1)
    if ENV_FILE.exists() and not force:
        _usage(
            f"{ENV_FILE.resolve()} exists already. Fix: pass --force to update it (the "
            "settings given here replace theirs; the others stay), or move it away."
        )
    setup = _from_options(
        provider, base_url, model, api_key, api_key_env, telegram_token,
        slack_bot_token, slack_app_token, owner or [], ask_server=not skip_checks,
    )  # fmt: skip
    console = Console(highlight=False)
    if not skip_checks:
        for outcome in asyncio.run(_checks(setup)):
            report(console, outcome)
    save(console, setup)


def _usage(message: str) -> NoReturn:
    fail(message, EXIT_CONFIG)


def _from_options(
    provider_name: str | None,
    base_url: str | None,
    model: str | None,
    api_key: str | None,
    api_key_env: str | None,
    telegram_token: str | None,
    slack_bot_token: str | None,
    slack_app_token: str | None,
    owners: list[str],
    *,
    ask_server: bool,
) -> Setup:
    """The set-up the options describe; a bad or missing one ends the command (exit 2)."""
    if provider_name is None:
        _usage(f"--provider is missing: --yes needs it. Fix: add --provider with one of {CHOICES}.")
    provider = _provider(provider_name)
    url = normalise_url(base_url) if base_url else provider.base_url
    if not url:
        _usage(
            f"--base-url is missing: --provider {provider.name} needs it. Fix: add "
            "--base-url http://HOST:PORT/v1."
        )
    problem = base_url_problem(url)
    if problem:
        _usage(
            f"--base-url {problem}. Fix: give the endpoint's full URL, e.g. "
            "http://localhost:11434/v1."
        )
    key = _key(provider, api_key, api_key_env)
    chosen = model.strip() if model else ""
    if not chosen and provider.local and ask_server:
        chosen = _served_model(url, key)  # what this server has beats a guess
    chosen = chosen or provider.model
    if not chosen:
        _usage(
            f"--model is missing: {provider.name} has no default model. Fix: add --model "
            "NAME (the name the server serves it under), or run this while the server is "
            "up to take its first model."
        )
    if telegram_token is not None:
        telegram_token = telegram_token.strip()
        problem = telegram_token_problem(telegram_token)
        if problem:
            _usage(f"--telegram-token {problem}. Fix: copy the token @BotFather gave you.")
    slack_problem = slack_token_problem(slack_bot_token, slack_app_token)
    if slack_problem:
        which, problem = slack_problem
        _usage(f"--slack-{which}-token {problem}. Fix: see the README's Slack section.")
    for entry in owners:
        problem = owner_problem(entry)
        if problem:
            _usage(f"--owner {problem}. Fix: give platform:id, e.g. --owner telegram:12345.")
    return Setup(url, chosen, key, telegram_token or None, slack_bot_token, slack_app_token, owners)


def _provider(name: str) -> Provider:
    provider = BY_NAME.get(name.strip().lower())
    if provider is None:
        _usage(f"--provider {name!r} is not one Clawling knows. Fix: use one of {CHOICES}.")
    return provider


def _key(provider: Provider, api_key: str | None, api_key_env: str | None) -> str | None:
    if api_key is not None and api_key_env is not None:
        _usage("--api-key and --api-key-env are both given. Fix: keep one of them.")
    if api_key_env is not None:
        key = key_from_environment(api_key_env)
        if key is None:
            _usage(
                f"--api-key-env: {api_key_env} is not set or empty. Fix: export "
                f"{api_key_env}=KEY first, or pass --api-key."
            )
        return key
    key = api_key.strip() if api_key else None
    if key is None and provider.key_variable:
        key = key_from_environment(provider.key_variable)
    if key is None and provider.needs_key:
        _usage(
            f"--api-key is missing: {provider.name} needs a key. Fix: add --api-key KEY or "
            f"--api-key-env VARIABLE (or export {provider.key_variable})."
        )
    return key


def _served_model(url: str, key: str | None) -> str:
    """The first model the server at `url` lists, or "" when it lists none or is away."""
    models = asyncio.run(list_models(url, key))
    return models[0] if models else ""


async def _checks(setup: Setup) -> list[Outcome]:
    outcomes = [await check_model(setup.base_url, setup.api_key, setup.model)]
    if setup.telegram_token:
        outcomes.append(await check_chat_app("telegram", {"bot_token": setup.telegram_token}))
    if setup.slack_bot_token:
        values = {"bot_token": setup.slack_bot_token, "app_token": setup.slack_app_token}
        outcomes.append(await check_chat_app("slack", values))
    return outcomes


def offer_wizard() -> bool:
    """Ask whether to run the wizard now (`clawling chat` without a model); True when it
    wrote `.env`."""
    console = Console(highlight=False)
    question = "No model is configured. Run the set-up wizard now?"
    if not Confirm.ask(question, console=console, default=True):
        return False
    return Wizard(console, then_chat=True).run()
