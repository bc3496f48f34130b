"""Field helpers shared by the settings groups."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic_settings import NoDecode

# A list read from one comma-separated variable (pydantic-settings must not parse it as JSON).
CommaList = Annotated[list[str], NoDecode]


def split_commas(value: Any) -> Any:
    """`a, b,c` -> ["a", "b", "c"]; anything else unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value
