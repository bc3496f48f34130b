"""`clawling init`: the wizard in a real pseudo-terminal, and `--yes` for scripts, against
the fake model server, the fake Telegram Bot API (getMe) and the fake Slack (auth.test)."""

from __future__ import annotations

import asyncio
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.cli.init import envfile
from bot.cli.init.envfile import Setup
from tests.bot.cli.harness import run
from tests.bot.cli.terminal import answer, finish, plain_environment, screen, serving, spawn
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.fakes.telegram_server import TOKEN, FakeTelegram

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-manifest.yaml"
UPDATE = "Update it at the end? The settings asked here replace theirs, the others stay."
ADDRESS = "Server address (its OpenAI-compatible /v1 URL)"
OPTIONAL_KEY = "API key, if the server needs one (typing is hidden; Enter for none)"
OFFER = "No model is configured. Run the set-up wizard now?"
WRONG_TELEGRAM_TOKEN = "999:WrongTokenAbcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with serving(lambda: FakeTelegram().start()) as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serving(lambda: FakeSlack().start()) as server:
        yield server


@pytest.fixture
def closed_url() -> str:
    """An endpoint where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def written(path: Path) -> dict[str, str | None]:
    """The settings in `path` as Clawling reads them, after checking it is private."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(dotenv_values(path))


# -- the wizard, in a terminal -------------------------------------------------------------


def test_wizard_finds_the_local_server_and_connects_both_chat_apps(
    fake_llm: FakeOpenAI, telegram: FakeTelegram, slack: FakeSlack, tmp_path: Path
) -> None:
    fake_llm.models = ["alpha-7b", "beta-13b"]
    (tmp_path / ".env").write_text("# mine\nCLAWLING_TIMEZONE=Europe/Berlin\nCLAWLING_MODEL=old\n")
    env = plain_environment(TELEGRAM_BASE_URL=telegram.url, SLACK_API_URL=slack.api_url)
    child = spawn(["init", "--probe", fake_llm.url], env, tmp_path)

    child.expect_exact(f"{tmp_path / '.env'} exists already.")
    answer(child, f"{UPDATE} [y/n] (n): ", "y")
    child.expect_exact(f"Found a model server at {fake_llm.url}: alpha-7b, beta-13b")
    child.expect_exact("another OpenAI-compatible server — found at")
    answer(child, "Number or name (8): ", "")  # the server found is the default
    answer(child, f"{ADDRESS} ({fake_llm.url}): ", "")
    answer(child, f"{OPTIONAL_KEY}: ", "")
    child.expect_exact("beta-13b")
    answer(child, "Number or name (1): ", "2")
    child.expect_exact("ok   beta-13b answered in")

    answer(child, "Connect a Telegram bot? [y/n] (n): ", "y")
    answer(child, "Telegram bot token (typing is hidden): ", WRONG_TELEGRAM_TOKEN)
    child.expect_exact("FAIL Telegram refused TELEGRAM_BOT_TOKEN")
    answer(child, "Try another token? [y/n] (y): ", "y")
    answer(child, "Telegram bot token (typing is hidden): ", TOKEN)
    child.expect_exact("ok   @clawling_test_bot")
    child.expect_exact("message @userinfobot")
    answer(child, "Your Telegram user id (Enter to skip): ", "@ann")
    child.expect_exact("That id must be digits only.")
    answer(child, "Your Telegram user id (Enter to skip): ", "12345")

    answer(child, "Connect Slack? [y/n] (n): ", "y")
    child.expect_exact(str(MANIFEST))
    answer(child, "Slack bot token, xoxb-... (typing is hidden): ", BOT_TOKEN)
    answer(child, "Slack app-level token, xapp-... (typing is hidden): ", APP_TOKEN)
    child.expect_exact("ok   bot user UBOT in team T0TEAM (Socket Mode)")
    answer(child, "Your Slack member ID (profile → ⋯ → Copy member ID; Enter to skip): ", "U0ANN")
    child.expect_exact(f"Updated {tmp_path / '.env'} (readable only by you).")
    child.expect_exact("Start it with: clawling run")
    assert finish(child) == 0
    transcript = screen(child)
    assert "Telegram bot token (typing is hidden)" in transcript and "@ann" in transcript

    assert written(tmp_path / ".env") == {
        "CLAWLING_TIMEZONE": "Europe/Berlin",  # kept
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "beta-13b",  # replaced
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "CLAWLING_OWNERS": "telegram:12345,slack:U0ANN",
    }
    assert "# mine" in (tmp_path / ".env").read_text()
    check = fake_llm.requests[-1]
    assert check["model"] == "beta-13b" and check["max_tokens"] == 5
    assert "getMe" in telegram.calls and slack.called("auth.test")
    assert TOKEN not in transcript and BOT_TOKEN not in transcript  # typed hidden


def test_wizard_reports_an_unreachable_model_and_lets_the_person_change_it(
    fake_llm: FakeOpenAI, closed_url: str, tmp_path: Path
) -> None:
    child = spawn(["init", "--provider", "vllm"], plain_environment(), tmp_path)
    answer(child, "Number or name (7): ", "")
    answer(
        child,
        "Server address (its OpenAI-compatible /v1 URL) (http://localhost:8000/v1): ",
        closed_url,
    )
    answer(child, f"{OPTIONAL_KEY}: ", "")
    child.expect_exact(f"Nothing answered at {closed_url}/models; type the model's name.")
    answer(child, "Model name: ", "served-model")
    child.expect_exact(f"FAIL {closed_url} did not answer:")
    answer(child, "Number or name (1): ", "")  # change them
    answer(child, "Number or name (7): ", "custom")
    answer(child, f"{ADDRESS} ({closed_url}): ", fake_llm.url)
    answer(child, f"{OPTIONAL_KEY}: ", "secret-key")
    answer(child, "Number or name (1): ", "")  # the one model the server lists
    child.expect_exact("ok   fake-model answered in")
    answer(child, "Connect a Telegram bot? [y/n] (n): ", "")
    answer(child, "Connect Slack? [y/n] (n): ", "n")
    child.expect_exact("Start it with: clawling chat")
    assert finish(child) == 0
    assert written(tmp_path / ".env") == {
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "OPENAI_API_KEY": "secret-key",
    }


def test_wizard_leaves_an_existing_env_alone_unless_told(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-mine\n")
    child = spawn(["init"], plain_environment(), tmp_path)
    answer(child, f"{UPDATE} [y/n] (n): ", "")
    child.expect_exact(".env is as it was: nothing written.")
    assert finish(child) == 1
    assert (tmp_path / ".env").read_text() == "OPENAI_API_KEY=sk-mine\n"


def test_wizard_stopped_with_ctrl_c_writes_nothing(tmp_path: Path) -> None:
    child = spawn(["init"], plain_environment(), tmp_path)
    child.expect_exact("Number or name (1): ")
    child.sendintr()
    child.expect_exact("Stopped: nothing was written.")
    assert finish(child) == 1
    assert not (tmp_path / ".env").exists()


def test_chat_without_a_model_offers_the_wizard_then_chats(
    fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    env = plain_environment(CLAWLING_DATA_DIR=str(tmp_path / "data"))
    child = spawn(["chat", "--as", "ann"], env, tmp_path, timeout=60)
    answer(child, f"{OFFER} [y/n] (y): ", "")
    answer(child, "Number or name (1): ", "custom")
    answer(child, f"{ADDRESS}: ", fake_llm.url)
    answer(child, f"{OPTIONAL_KEY}: ", "")
    answer(child, "Number or name (1): ", "")
    child.expect_exact("ok   fake-model answered")
    answer(child, "Connect a Telegram bot? [y/n] (n): ", "n")
    answer(child, "Connect Slack? [y/n] (n): ", "n")
    child.expect_exact("(readable only by you).")
    child.expect_exact("chatting as")
    answer(child, "you › ", "hello there")
    child.expect_exact("echo: hello there")
    child.sendeof()
    assert finish(child) == 0
    assert written(tmp_path / ".env")["CLAWLING_MODEL"] == "fake-model"


def test_chat_without_a_model_declined_or_without_a_terminal_says_what_to_set(
    tmp_path: Path,
) -> None:
    child = spawn(["chat"], plain_environment(), tmp_path)
    answer(child, f"{OFFER} [y/n] (y): ", "n")
    child.expect_exact("Set OPENAI_API_KEY")
    assert finish(child) == 2

    result = run(["chat"], plain_environment())
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Set OPENAI_API_KEY" in result.stderr
    assert "set-up wizard" not in result.stdout + result.stderr
    assert not (tmp_path / ".env").exists()


# -- --yes, for scripts ----------------------------------------------------------------------


def test_yes_asks_the_server_for_its_model_and_writes_a_private_env(
    fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.models = ["served-a", "served-b"]
    result = run(
        ["init", "--yes", "--provider", "vllm", "--base-url", fake_llm.url + "/"],
        plain_environment(),
    )
    assert result.returncode == 0, result.stderr
    assert "ok   served-a answered in" in result.stdout
    assert "Start it with: clawling chat" in result.stdout
    assert written(tmp_path / ".env") == {
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "served-a",
    }


def test_yes_says_when_the_model_does_not_answer_and_still_writes(
    closed_url: str, tmp_path: Path
) -> None:
    args = ["init", "--yes", "--provider", "ollama", "--base-url", closed_url]
    result = run(args, plain_environment())
    assert result.returncode == 0
    assert f"FAIL {closed_url} did not answer:" in result.stdout
    assert written(tmp_path / ".env")["CLAWLING_MODEL"] == "qwen3:8b"


def test_yes_checks_telegram_and_slack(
    fake_llm: FakeOpenAI, telegram: FakeTelegram, slack: FakeSlack, tmp_path: Path
) -> None:
    args = [
        "init", "--yes", "--provider", "custom", "--base-url", fake_llm.url, "--model", "m1",
        "--telegram-token", TOKEN, "--slack-bot-token", BOT_TOKEN, "--slack-app-token",
        APP_TOKEN, "--owner", "telegram:42", "--owner", "slack:U0ANN",
    ]  # fmt: skip
    env = plain_environment(TELEGRAM_BASE_URL=telegram.url, SLACK_API_URL=slack.api_url)
    result = run(args, env)
    assert result.returncode == 0, result.stderr
    assert "ok   @clawling_test_bot" in result.stdout
    assert "ok   bot user UBOT in team T0TEAM (Socket Mode)" in result.stdout
    assert "Start it with: clawling run" in result.stdout
    settings = written(tmp_path / ".env")
    assert settings["CLAWLING_OWNERS"] == "telegram:42,slack:U0ANN"
    assert settings["TELEGRAM_BOT_TOKEN"] == TOKEN and settings["CLAWLING_MODEL"] == "m1"


def test_yes_reports_a_refused_telegram_token(
    fake_llm: FakeOpenAI, telegram: FakeTelegram, tmp_path: Path
) -> None:
    args = ["init", "--yes", "--provider", "custom", "--base-url", fake_llm.url,
            "--telegram-token", WRONG_TELEGRAM_TOKEN]  # fmt: skip
    result = run(args, plain_environment(TELEGRAM_BASE_URL=telegram.url))
    assert result.returncode == 0
    assert "FAIL Telegram refused TELEGRAM_BOT_TOKEN (" in result.stdout
    assert WRONG_TELEGRAM_TOKEN not in result.stdout and "<redacted>" in result.stdout


def test_yes_refuses_an_existing_env_unless_forced(fake_llm: FakeOpenAI, tmp_path: Path) -> None:
    before = "CLAWLING_TIMEZONE=Asia/Tokyo\nOPENAI_API_KEY=old\n"
    (tmp_path / ".env").write_text(before)
    args = ["init", "--yes", "--provider", "deepseek", "--api-key", "new", "--skip-checks"]
    result = run(args, plain_environment())
    assert result.returncode == 2
    assert result.stderr == (
        f"{tmp_path / '.env'} exists already. Fix: pass --force to update it (the settings "
        "given here replace theirs; the others stay), or move it away.\n"
    )
    assert (tmp_path / ".env").read_text() == before

    result = run([*args, "--force"], plain_environment())
    assert result.returncode == 0, result.stderr
    assert written(tmp_path / ".env") == {
        "CLAWLING_TIMEZONE": "Asia/Tokyo",
        "OPENAI_BASE_URL": "https://api.deepseek.com/v1",
        "CLAWLING_MODEL": "deepseek-chat",
        "OPENAI_API_KEY": "new",
    }


EXPECTED_DEFAULTS = {
    "openai": ("https://api.openai.com/v1", "gpt-4.1-mini"),
    "deepseek": ("https://api.deepseek.com/v1", "deepseek-chat"),
    "moonshot": ("https://api.moonshot.ai/v1", "kimi-k2-0905-preview"),
    "zhipu": ("https://open.bigmodel.cn/api/paas/v4", "glm-4.6"),
    "openrouter": ("https://openrouter.ai/api/v1", "openai/gpt-4.1-mini"),
    "ollama": ("http://localhost:11434/v1", "qwen3:8b"),
}


@pytest.mark.parametrize("provider", sorted(EXPECTED_DEFAULTS))
def test_yes_writes_each_providers_defaults(provider: str, tmp_path: Path) -> None:
    args = ["init", "--yes", "--provider", provider, "--api-key", "k-1", "--skip-checks"]
    result = run(args, plain_environment())
    assert result.returncode == 0, result.stderr
    base_url, model = EXPECTED_DEFAULTS[provider]
    assert written(tmp_path / ".env") == {
        "OPENAI_BASE_URL": base_url,
        "CLAWLING_MODEL": model,
        "OPENAI_API_KEY": "k-1",
    }


def test_yes_takes_the_key_from_a_variable(tmp_path: Path) -> None:
    args = ["init", "--yes", "--provider", "moonshot", "--skip-checks"]
    env = plain_environment(MY_KEY="from-my-key", MOONSHOT_API_KEY="from-moonshot")
    assert run([*args, "--api-key-env", "MY_KEY"], env).returncode == 0
    assert written(tmp_path / ".env")["OPENAI_API_KEY"] == "from-my-key"
    assert run([*args, "--force"], env).returncode == 0  # the provider's usual variable
    assert written(tmp_path / ".env")["OPENAI_API_KEY"] == "from-moonshot"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "--provider is missing: --yes needs it. Fix: add --provider with one of openai,"),
        (["--provider", "gemini"], "--provider 'gemini' is not one Clawling knows. Fix: use one of"),
        (["--provider", "custom"], "--base-url is missing: --provider custom needs it. Fix:"),
        (["--provider", "custom", "--base-url", "localhost:1234"], "--base-url must start with http:// or https://. Fix:"),
        (["--provider", "openrouter"], "--api-key is missing: openrouter needs a key. Fix: add --api-key KEY"),
        (["--provider", "openai", "--api-key", "k", "--api-key-env", "K"], "--api-key and --api-key-env are both given. Fix: keep one of them."),
        (["--provider", "openai", "--api-key-env", "NOT_SET_HERE"], "--api-key-env: NOT_SET_HERE is not set or empty. Fix:"),
        (["--provider", "vllm"], "--model is missing: vllm has no default"),
        (["--provider", "ollama", "--telegram-token", "12345"], "--telegram-token is not a bot token"),
        (["--provider", "ollama", "--slack-bot-token", "xoxb-1"], "--slack-app-token is needed with the bot token (Socket Mode). Fix: see the README's Slack section."),
        (["--provider", "ollama", "--slack-bot-token", "xapp-1", "--slack-app-token", "xapp-2"], "--slack-bot-token must be the Bot User OAuth Token, which starts with xoxb-. Fix:"),
        (["--provider", "ollama", "--owner", "12345"], "--owner entries must look like telegram:12345 or slack:U0123"),
    ],
)  # fmt: skip
def test_yes_bad_options_are_one_line_and_exit_2(
    args: list[str], line: str, tmp_path: Path
) -> None:
    result = run(["init", "--yes", "--skip-checks", *args], plain_environment())
    assert result.returncode == 2
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / ".env").exists()


def test_questions_need_a_terminal(tmp_path: Path) -> None:
    result = run(["init"], plain_environment())
    assert result.returncode == 2
    assert result.stderr == (
        "clawling init asks questions and needs a terminal. Fix: run it in a terminal, or "
        "pass --yes --provider NAME for a set-up without questions.\n"
    )
    result = run(["init", "--telegram-token", TOKEN], plain_environment())
    assert result.stderr.startswith("--telegram-token only applies with --yes.")


# -- the .env file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["sk-abc_123", "with space", "has#hash", "it's", 'say "hi" \\ back', "a=b", "$HOME", "ünï"],
)
def test_values_read_back_as_written(value: str, tmp_path: Path) -> None:
    path = tmp_path / "written.env"
    envfile.write(path, envfile.render(Setup("http://h/v1", "m", api_key=value)))
    assert written(path)["OPENAI_API_KEY"] == value


def test_an_update_keeps_other_lines_and_replaces_the_endpoint_whole(tmp_path: Path) -> None:
    old = "# my notes\nexport OPENAI_API_KEY=old\nCLAWLING_TIMEZONE=UTC\nTELEGRAM_BOT_TOKEN_FILE=/x\n\n"
    first = envfile.render(Setup("http://h/v1", "m1", telegram_token=TOKEN), old)
    second = envfile.render(Setup("http://h/v1", "m2"), first)
    lines = second.splitlines()
    assert lines[:4] == ["# my notes", "CLAWLING_TIMEZONE=UTC", "", f"TELEGRAM_BOT_TOKEN={TOKEN}"]
    assert lines[5].startswith("# Written by `clawling init`")
    assert lines[6:] == ["OPENAI_BASE_URL=http://h/v1", "CLAWLING_MODEL=m2"]
    assert second.count("# Written by") == 1
    # The old key would be sent to the new server; the token file would clash with the token.
    assert "OPENAI_API_KEY" not in second and "TELEGRAM_BOT_TOKEN_FILE" not in second


def test_a_probed_address_without_a_path_is_looked_up_under_v1(fake_llm: FakeOpenAI) -> None:
    from bot.cli.init.checks import find_local_servers

    bare = fake_llm.url.removesuffix("/v1")
    found = asyncio.run(find_local_servers([bare]))
    assert [(server.base_url, server.models) for server in found][:1] == [
        (fake_llm.url, ["fake-model"])
    ]
