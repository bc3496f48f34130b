"""bench/open_models.py against the fake server: it tells each personality's habits apart."""

from __future__ import annotations

import pytest

from bench.open_models import main


def rows(printed: str) -> dict[str, tuple[str, str]]:
    """feature → (works, detail) from the printed table."""
    table: dict[str, tuple[str, str]] = {}
    for line in printed.splitlines()[3:]:
        feature, _, rest = line.partition("  ")
        works, _, detail = rest.strip().partition(" ")
        table[feature.strip()] = (works, detail.strip())
    return table


def test_the_table_tells_llama_cpp_from_vllm(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fake", "llama.cpp"]) == 0
    llama = rows(capsys.readouterr().out)
    assert main(["--fake", "vllm"]) == 0
    vllm = rows(capsys.readouterr().out)

    assert llama["chat"][0] == vllm["chat"][0] == "yes"
    assert llama["streaming"][0] == vllm["streaming"][0] == "yes"
    assert (llama["usage in stream"][0], vllm["usage in stream"][0]) == ("no", "yes")
    assert llama["tool call (tool_choice auto)"][0] == "yes"
    assert (llama["tool call (no tool_choice)"][0], vllm["tool call (no tool_choice)"][0]) == (
        "no",
        "yes",
    )
    assert llama["tool call streamed"] == ("no", "no tool call (2 comment lines only)")
    assert vllm["tool call streamed"][0] == "yes"
    assert llama["window told"] == ("yes", "4096 (/props n_ctx)")
    assert vllm["window told"] == ("yes", "4096 (/v1/models max_model_len)")
    assert llama["embeddings shape"] == ("no", "one vector per token, not per text")
    assert vllm["embeddings shape"][0] == "yes"
    # Through the app: a plain chat turn works on both.
    assert llama["app: chat"][0] == vllm["app: chat"][0] == "yes"
    assert set(llama) == set(vllm) >= {"app: tool call", "app: overflow recovery"}


def test_without_a_server_it_says_what_to_give() -> None:
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2


def test_ollama_tells_its_window_and_streams_a_call_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--fake", "ollama"]) == 0
    ollama = rows(capsys.readouterr().out)
    assert ollama["window told"] == ("yes", "4096 (/api/show llama.context_length)")
    assert ollama["tool call streamed"] == ("yes", "in 1 chunks")
    assert ollama["usage in stream"][0] == "yes"
    assert main(["--fake", "openai"]) == 0
    openai = rows(capsys.readouterr().out)
    assert openai["window told"] == ("no", "not by /v1/models, /props or /api/show")
    assert openai["tool call streamed"][0] == "yes"
