"""One line of `clawling doctor`'s report: a check's name, state, detail and fix."""

from __future__ import annotations

from dataclasses import dataclass

OK, NOTE, FAIL = "ok", "note", "FAIL"


@dataclass(frozen=True)
class Check:
    """`ok`, `note` (worth knowing, nothing to fix) or `FAIL` (fix it: exit code 1)."""

    name: str
    state: str
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        """Nothing to fix (ok, or a note)."""
        return self.state != FAIL
