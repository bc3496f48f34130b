"""The compose file, Dockerfile and settings docs, checked without a Docker engine."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PLACES = [
    ROOT.parent / "shared/spec/compose-spec.json",
    Path("/work/shared/spec/compose-spec.json"),
]


# The everyday file, and the scaled set-up (tests/deploy/test_compose_scale.py).
COMPOSE_FILES = ["docker-compose.yml", "deploy/compose.scale.yml"]


def _compose(name: str = "docker-compose.yml") -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


def _schema() -> dict[str, Any]:
    for place in SCHEMA_PLACES:
        if place.is_file():
            return json.loads(place.read_text())
    if os.environ.get("CI") == "true":  # .ci/run on the project's machines has it
        pytest.fail(f"the Compose specification schema is missing; looked in {SCHEMA_PLACES}")
    pytest.skip("the Compose specification schema is not on this machine")


def setting_names() -> list[str]:
    names = []
    for group, info in Settings.model_fields.items():
        for field in info.annotation.model_fields:  # type: ignore[union-attr]
            names.append(f"{group}_{field}".upper())
    return names


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_follows_the_specification(name: str) -> None:
    jsonschema.Draft7Validator(_schema()).validate(_compose(name))


def test_compose_runs_the_app_on_a_healthy_database() -> None:
    services = _compose()["services"]
    app, database = services["clawling"], services["db"]
    assert database["image"].startswith("pgvector/pgvector:")
    assert "healthcheck" in database and "healthcheck" in app
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["restart"] == database["restart"] == "unless-stopped"
    assert app["env_file"] == ".env"
    assert app["environment"]["CLAWLING_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "clawling-data:/data" in app["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in database["volumes"])
    # Nothing is published beyond this machine.
    assert all(port.startswith("127.0.0.1:") for port in app.get("ports", []))
    assert "ports" not in database


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_holds_no_plaintext_secret(name: str) -> None:
    for service in _compose(name)["services"].values():
        for name, value in service.get("environment", {}).items():
            value = str(value)
            if re.search(r"PASSWORD|SECRET|TOKEN|KEY", name):
                assert value.startswith("${"), name
            credentials = re.match(r"\w[\w+]*://([^@/]+)@", value)
            if credentials:
                password = credentials.group(1).partition(":")[2]
                assert password.startswith("${"), name


def test_dockerfile_runs_as_a_user_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["clawling", "run"]' in text
    # Dependencies are installed before the code is copied (a cached layer).
    assert text.index("pip install -r") < text.index("COPY bot")
    assert not re.search(r"^(ARG|ENV) \w*(KEY|TOKEN|SECRET|PASSWORD)", text, re.M)


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [name for name in setting_names() if name not in text]
    assert missing == []
