"""The questions of `clawling init` in a terminal.

Every question has an answer in brackets that Enter takes; menus take a number or a
name. Keys and tokens are typed hidden. A check that fails (the model does not answer,
a token is refused) is one line, and the person chooses: try again, keep the answer, or
stop. Nothing is written before the last step, so Ctrl-C at any point leaves no trace.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.prompt import Confirm, Prompt

from bot.cli.init.checks import (
    LocalServer,
    check_chat_app,
    check_model,
    find_local_servers,
    list_models,
    report,
)
from bot.cli.init.envfile import ENV_FILE, Setup, save
from bot.cli.init.values import (
    base_url_problem,
    normalise_url,
    owner_problem,
    slack_token_problem,
    telegram_token_problem,
)
from bot.settings.providers import BY_NAME, LOCAL_PLACES, PROVIDERS, Provider, key_from_environment

SHOWN_MODELS = 20
SLACK_MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-manifest.yaml"


class Wizard:
    """One run of the questions; `run()` says whether `.env` was written."""

    def __init__(
        self,
        console: Console,
        provider: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        probe_urls: list[str] | None = None,
        *,
        then_chat: bool = False,
    ) -> None:
        self.console = console
        self._then_chat = then_chat  # the terminal chat starts right after
        self._provider = provider
        self._base_url = base_url
        self._model = model
        self._probe_urls = probe_urls or []
        if base_url and not provider:
            self._provider = "custom"  # an address alone is an OpenAI-compatible server
        self._servers: list[LocalServer] = []

    def run(self) -> bool:
        """Ask everything and write `.env`; False when stopped or nothing was written."""
        try:
            return self._run()
        except (KeyboardInterrupt, EOFError):
            self._say("\nStopped: nothing was written.")
            return False

    def _run(self) -> bool:
        self.console.print(
            "[bold]Clawling set-up.[/] Enter takes the answer in brackets; "
            "Ctrl-C stops without writing anything."
        )
        if ENV_FILE.exists():
            self._say(f"{ENV_FILE.resolve()} exists already.")
            question = (
                "Update it at the end? The settings asked here replace theirs, the others stay."
            )
            if not self._confirm(question, default=False):
                self._say(".env is as it was: nothing written.")
                return False
        self._look_for_servers()
        setup = self._model_setup()
        if setup is None:
            self._say("Stopped: nothing was written.")
            return False
        self._telegram(setup)
        self._slack(setup)
        save(self.console, setup, say_start=not self._then_chat)
        return True

    # -- the model -------------------------------------------------------------------

    def _look_for_servers(self) -> None:
        where = ", ".join(f"{p.label} {p.base_url}" for p in LOCAL_PLACES)
        self._say(f"Looking for model servers on this machine ({where})...")
        self._servers = asyncio.run(find_local_servers(self._probe_urls))
        for server in self._servers:
            names = ", ".join(server.models[:5]) + (", ..." if len(server.models) > 5 else "")
            self._say(f"Found {server.label} at {server.base_url}: {names or 'no models yet'}")
        if not self._servers:
            self._say("None found; a hosted provider or a server elsewhere works as well.")

    def _model_setup(self) -> Setup | None:
        while True:
            provider = self._choose_provider()
            base_url = self._ask_base_url(provider)
            key = self._ask_key(provider)
            model = self._ask_model(provider, base_url, key)
            self._say(f"Asking {model} at {base_url} for a short answer...")
            outcome = asyncio.run(check_model(base_url, key, model))
            report(self.console, outcome)
            if outcome.ok:
                return Setup(base_url, model, key)
            choice = self._choose(
                "Change the model settings, keep them anyway, or quit?",
                [("change", "change them"), ("keep", "keep them"), ("quit", "quit")],
                "change",
            )
            if choice == "keep":
                return Setup(base_url, model, key)
            if choice == "quit":
                return None
            self._provider, self._base_url, self._model = provider.name, base_url, model

    def _choose_provider(self) -> Provider:
        found = {server.provider: server for server in reversed(self._servers)}
        options = []
        for provider in PROVIDERS:
            label = provider.label
            if provider.name in found:
                server = found[provider.name]
                label += f" — found at {server.base_url}, {len(server.models)} model(s)"
            options.append((provider.name, label))
        default = self._provider or (self._servers[0].provider if self._servers else "openai")
        return BY_NAME[self._choose("Which model provider?", options, default)]

    def _ask_base_url(self, provider: Provider) -> str:
        if not provider.local:
            return provider.base_url
        found = [s.base_url for s in self._servers if s.provider == provider.name]
        # An address given before is kept for the same provider; `custom` has no other.
        given = self._base_url if provider.name in (self._provider, "custom") else None
        default = given or next(iter(found), provider.base_url)
        while True:
            url = normalise_url(
                self._ask("Server address (its OpenAI-compatible /v1 URL)", default)
            )
            problem = base_url_problem(url)
            if problem is None:
                return url
            self._say(f"That address {problem}; for example http://localhost:11434/v1.")

    def _ask_key(self, provider: Provider) -> str | None:
        variable = provider.key_variable
        if variable and key_from_environment(variable):
            if self._confirm(f"Use the key in the environment variable {variable}?", True):
                return key_from_environment(variable)
        if not provider.needs_key:
            key = Prompt.ask(
                "API key, if the server needs one (typing is hidden; Enter for none)",
                console=self.console, password=True, default="", show_default=False,
            )  # fmt: skip
            return key.strip() or None
        self._say(f"A {provider.label} API key is made at {provider.key_page}.")
        while True:
            key = Prompt.ask("API key (typing is hidden)", console=self.console, password=True)
            if key.strip():
                return key.strip()
            self._say(f"{provider.label} needs a key.")

    def _ask_model(self, provider: Provider, base_url: str, key: str | None) -> str:
        models = next((s.models for s in self._servers if s.base_url == base_url), None)
        if models is None and provider.local:
            models = asyncio.run(list_models(base_url, key))
            if models is None:
                self._say(f"Nothing answered at {base_url}/models; type the model's name.")
        preferred = (self._model if provider.name == self._provider else None) or provider.model
        if models:
            shown = models[:SHOWN_MODELS]
            default = preferred if preferred in shown else shown[0]
            if len(models) > len(shown):
                self._say(
                    f"{len(models)} models; the first {len(shown)} are listed, any may be typed."
                )
            return self._choose("Which model?", [(m, m) for m in shown], default, free=True)
        if models == []:
            self._say("The server lists no models yet (Ollama: `ollama pull qwen3:8b` first).")
        while True:
            name = self._ask("Model name", preferred or None).strip()
            if name:
                return name

    # -- chat apps -------------------------------------------------------------------

    def _telegram(self, setup: Setup) -> None:
        if not self._confirm("Connect a Telegram bot?", False):
            return
        self._say(
            "In Telegram, message @BotFather, send /newbot and answer its two questions; "
            "it replies with the bot's token (like 123456789:AAH...)."
        )
        token = self._telegram_token()
        if token is None:
            return
        setup.telegram_token = token
        self._say(
            "You become its owner with your numeric Telegram user id: message @userinfobot "
            "to see it. (Or skip: once Clawling runs, your bot answers you with your id.)"
        )
        self._ask_owner(setup, "telegram", "Your Telegram user id (Enter to skip)")

    def _slack(self, setup: Setup) -> None:
        if not self._confirm("Connect Slack?", False):
            return
        manifest = SLACK_MANIFEST if SLACK_MANIFEST.is_file() else "deploy/slack-manifest.yaml"
        self._say(
            f"At https://api.slack.com/apps choose Create New App → From a manifest and paste "
            f"{manifest}. Install it, then copy the Bot User OAuth Token (OAuth & "
            "Permissions) and make an app-level token with connections:write (Basic "
            "Information → App-Level Tokens)."
        )
        while True:
            bot = self._secret("Slack bot token, xoxb-... (typing is hidden)")
            app = self._secret("Slack app-level token, xapp-... (typing is hidden)")
            problem = slack_token_problem(bot, app)
            outcome = None
            if problem is None:
                outcome = asyncio.run(check_chat_app("slack", {"bot_token": bot, "app_token": app}))
                report(self.console, outcome)
            else:
                self._say(f"The {problem[0]} token {problem[1]}.")
            if outcome is not None and outcome.ok:
                setup.slack_bot_token, setup.slack_app_token = bot, app
                break
            if not self._confirm("Try other tokens?", True):
                return
        self._ask_owner(
            setup, "slack", "Your Slack member ID (profile → ⋯ → Copy member ID; Enter to skip)"
        )

    def _telegram_token(self) -> str | None:
        while True:
            token = self._secret("Telegram bot token (typing is hidden)")
            problem = telegram_token_problem(token)
            if problem is not None:
                self._say(f"That token {problem}.")
            else:
                outcome = asyncio.run(check_chat_app("telegram", {"bot_token": token}))
                report(self.console, outcome)
                if outcome.ok:
                    return token
            if not self._confirm("Try another token?", True):
                return None

    def _ask_owner(self, setup: Setup, platform: str, question: str) -> None:
        while True:
            answer = self._ask(question, "").strip()
            if not answer:
                return
            problem = owner_problem(f"{platform}:{answer}")
            if platform == "telegram" and not answer.isdigit():
                problem = "must be digits only"
            if problem is None:
                setup.owners.append(f"{platform}:{answer}")
                return
            self._say(f"That id {problem}.")

    # -- asking ----------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False)

    def _ask(self, question: str, default: str | None) -> str:
        if default is None:
            return Prompt.ask(question, console=self.console)
        return Prompt.ask(
            question, console=self.console, default=default, show_default=bool(default)
        )

    def _secret(self, question: str) -> str:
        return Prompt.ask(question, console=self.console, password=True).strip()

    def _confirm(self, question: str, default: bool) -> bool:
        return Confirm.ask(question, console=self.console, default=default)

    def _choose(
        self, question: str, options: list[tuple[str, str]], default: str, *, free: bool = False
    ) -> str:
        """A numbered menu: a number, a name from the menu, or (`free`) any name."""
        self._say(question)
        for number, (_, label) in enumerate(options, 1):
            self._say(f"  {number:>2}  {label}")
        names = [name for name, _ in options]
        shown_default = str(names.index(default) + 1) if default in names else default
        while True:
            answer = self._ask("Number or name", shown_default).strip()
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return names[int(answer) - 1]
            if answer in names or (free and answer):
                return answer
            if answer.lower() in names:
                return answer.lower()
            self._say(f"Type a number from 1 to {len(options)}, or one of the names.")
