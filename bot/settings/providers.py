"""The model providers `clawling init` offers, and where local model servers usually listen.

One table, read by the set-up wizard and checked against the README's "Model providers"
table by the tests, so the two cannot drift apart. A provider is only a set of defaults
for `OPENAI_BASE_URL`, `CLAWLING_MODEL` and `OPENAI_API_KEY`: nothing else in Clawling
knows which provider it talks to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """Defaults for one OpenAI-compatible endpoint."""

    name: str  # what `clawling init --provider` takes
    label: str  # what the wizard shows
    base_url: str  # empty: the person gives it (`custom`)
    model: str  # empty: no sensible default (a local server's own models are offered)
    needs_key: bool
    key_variable: str = ""  # where people usually keep this provider's key
    key_page: str = ""  # where a key is made
    local: bool = False  # runs on this machine: probe it for its models


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        "gpt-4.1-mini",
        needs_key=True,
        key_variable="OPENAI_API_KEY",
        key_page="https://platform.openai.com/api-keys",
    ),
    Provider(
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com/v1",
        "deepseek-chat",
        needs_key=True,
        key_variable="DEEPSEEK_API_KEY",
        key_page="https://platform.deepseek.com/api_keys",
    ),
    Provider(
        "moonshot",
        "Kimi (Moonshot)",
        "https://api.moonshot.ai/v1",
        "kimi-k2-0905-preview",
        needs_key=True,
        key_variable="MOONSHOT_API_KEY",
        key_page="https://platform.moonshot.ai/console/api-keys",
    ),
    Provider(
        "zhipu",
        "GLM (Zhipu)",
        "https://open.bigmodel.cn/api/paas/v4",
        "glm-4.6",
        needs_key=True,
        key_variable="ZHIPUAI_API_KEY",
        key_page="https://open.bigmodel.cn/usercenter/apikeys",
    ),
    Provider(
        "openrouter",
        "OpenRouter",
        "https://openrouter.ai/api/v1",
        "openai/gpt-4.1-mini",
        needs_key=True,
        key_variable="OPENROUTER_API_KEY",
        key_page="https://openrouter.ai/keys",
    ),
    Provider(
        "ollama", "Ollama (local)", "http://localhost:11434/v1", "qwen3:8b", False, local=True
    ),
    Provider("vllm", "vLLM (local)", "http://localhost:8000/v1", "", False, local=True),
    Provider("custom", "another OpenAI-compatible server", "", "", False, local=True),
)

BY_NAME = {provider.name: provider for provider in PROVIDERS}
NAMES = tuple(BY_NAME)


@dataclass(frozen=True)
class LocalPlace:
    """Where a local model server usually listens."""

    label: str
    base_url: str
    provider: str  # the entry of PROVIDERS it belongs to


# llama.cpp's server listens on 8080 — also CLAWLING_HTTP_PORT's default, so a
# server found there may be Clawling's own (it answers no /v1/models).
LOCAL_PLACES: tuple[LocalPlace, ...] = (
    LocalPlace("Ollama", "http://localhost:11434/v1", "ollama"),
    LocalPlace("vLLM", "http://localhost:8000/v1", "vllm"),
    LocalPlace("llama.cpp", "http://localhost:8080/v1", "custom"),
)


def key_from_environment(variable: str) -> str | None:
    """The value of `variable`, where people keep provider keys; None when unset or empty.

    Here because settings/ is the only reader of the environment."""
    value = os.environ.get(variable, "").strip()
    return value or None
