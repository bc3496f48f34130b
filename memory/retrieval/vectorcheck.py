"""Checking an embedding endpoint's answer before anything is stored or compared.

Servers that are not built for embeddings answer with the wrong shape and a 200:
llama.cpp without pooling returns one vector per token (a nested list per text, or
more vectors than texts), and a model swapped behind the same name returns vectors
of another length. Stored, those vectors rank unrelated messages as close as the
right one, and nothing says so. The rules, so nothing wrong is ever stored:

- exactly one vector per text, each a flat list of numbers;
- every vector of a model has one dimension: the first good vector fixes it, and the
  vectors already stored for the model remember it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

POOLING_FIX = (
    "serve a model that gives one vector per text (llama.cpp: start it with "
    "--pooling mean), or unset {setting} for full-text search only"
)
DIMENSION_FIX = (
    "point {setting} back at the model that made the stored vectors ({stored} numbers "
    "each), or give the new model a new name (vectors are stored per name)"
)


class BadVectors(ValueError):
    """The endpoint's vectors cannot be used: `problem` says how, `fix` what to change."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; fix: {fix}")
        self.problem = problem
        self.fix = fix


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def checked(vectors: Sequence[Any], count: int, dimension: int | None, *, setting: str) -> Matrix:
    """The vectors as a (count, dimension) float32 matrix; BadVectors when their shape is
    wrong. `dimension` is the model's known one (None: the first vector fixes it);
    `setting` names the embedding setting in the message, e.g. `CLAWLING_EMBEDDING_MODEL=x`."""
    pooling = POOLING_FIX.format(setting=setting.split("=", 1)[0])
    if not isinstance(vectors, list | tuple) or len(vectors) != count:
        got = len(vectors) if isinstance(vectors, list | tuple) else 0
        raise BadVectors(
            f"{setting}: the endpoint returned {got} vectors for {count} texts "
            "(one per token?), not one per text",
            pooling,
        )
    for vector in vectors:
        if isinstance(vector, list | tuple) and vector and isinstance(vector[0], list | tuple):
            raise BadVectors(
                f"{setting}: the endpoint returned one vector per token "
                f"({len(vector)} for a text), not one per text",
                pooling,
            )
        if not isinstance(vector, list | tuple) or not vector or not all(map(_number, vector)):
            raise BadVectors(
                f"{setting}: the endpoint returned something that is not a list of numbers",
                pooling,
            )
    sizes = {len(vector) for vector in vectors}
    if len(sizes) > 1:
        raise BadVectors(
            f"{setting}: the endpoint returned vectors of different lengths "
            f"({', '.join(map(str, sorted(sizes)))}) in one answer",
            pooling,
        )
    size = sizes.pop() if sizes else (dimension or 0)
    if dimension is not None and size != dimension:
        raise BadVectors(
            f"{setting}: the endpoint now returns vectors of {size} numbers, but the "
            f"stored vectors of this model have {dimension}",
            DIMENSION_FIX.format(setting=setting.split("=", 1)[0], stored=dimension),
        )
    return np.asarray(vectors, dtype=np.float32).reshape(count, size)
