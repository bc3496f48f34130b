"""The layering docs/design.md states, checked on every module's imports.

Imports are read with `ast` (nothing is imported). Imports under `if TYPE_CHECKING:`
are for types only and do not count; imports inside functions do, because a lazy
import back is how a cycle hides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "memory", "skills", "migrations")
PLATFORM_SDKS = {
    "telegram": "adapters.telegram",
    "slack_bolt": "adapters.slack",
    "slack_sdk": "adapters.slack",
}
# What adapters may use of bot/: the channel seam, the command registry, errors, the
# HTTP server and their own settings. Never the agent, tools, stores or wiring.
ADAPTER_MAY_IMPORT = {
    "bot.chat.attachments",
    "bot.chat.channels",
    "bot.chat.outbox",
    "bot.commands.registry",
    "bot.errors",
    "bot.http.server",
    "bot.settings",
    "bot.settings.channels",
}
# bot/ holds engines (to hand them to stores and APScheduler) but writes no SQL.
BOT_MAY_IMPORT_FROM_SQLALCHEMY = {"AsyncEngine", "Engine"}


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module, or the package a name was imported from
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = all_modules()


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking_only(child):
            yield from (n for other in child.orelse for n in [other, *_walk(other)])
            continue
        yield child
        yield from _walk(child)


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = tuple(a.name for a in node.names)
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            if submodules:
                found += [Import(module, s, (), node.lineno) for s in submodules]
            else:
                found.append(Import(module, base, names, node.lineno))
    return found


IMPORTS = {module: imports_of(module) for module in MODULES}


def _within(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def _ours(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


def test_the_checker_sees_the_code() -> None:
    # Would pass vacuously if the tree moved away from under it.
    assert len(MODULES) > 100
    assert "bot.chat.sessions" in MODULES and "memory.db.engine" in MODULES
    targets = {i.target for i in IMPORTS["bot.chat.sessions"]}
    assert "bot.agent.loop" in targets


def test_no_import_cycles_between_modules() -> None:
    graph = {
        module: sorted({i.target for i in found if i.target in MODULES and i.target != module})
        for module, found in IMPORTS.items()
    }
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "adapters")))
def test_adapters_use_only_the_channel_seam(module: str) -> None:
    platform = ".".join(module.split(".")[:2])
    wrong = [
        str(i)
        for i in IMPORTS[module]
        if (_within(i.target, "bot") and i.target not in ADAPTER_MAY_IMPORT)
        or _within(i.target, "memory")
        or _within(i.target, "skills")
        or (_within(i.target, "adapters") and not _within(i.target, platform))
    ]
    assert wrong == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "memory")))
def test_memory_never_imports_the_assistant_or_the_platforms(module: str) -> None:
    wrong = [
        str(i) for i in IMPORTS[module] if _within(i.target, "bot") or _within(i.target, "adapters")
    ]
    assert wrong == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "skills")))
def test_skills_never_import_the_assistant_or_the_platforms(module: str) -> None:
    wrong = [
        str(i) for i in IMPORTS[module] if _within(i.target, "bot") or _within(i.target, "adapters")
    ]
    assert wrong == []


def test_wiring_only_in_bot_app() -> None:
    """Adapters are built only by the wiring, and the wiring is used only by the CLI."""
    wrong = []
    for module, found in IMPORTS.items():
        for i in found:
            if _within(i.target, "adapters") and not (
                _within(module, "adapters") or _within(module, "bot.app")
            ):
                wrong.append(str(i))
            if _within(i.target, "bot.app") and not (
                _within(module, "bot.app") or _within(module, "bot.cli")
            ):
                wrong.append(str(i))
    assert wrong == []


def test_platform_sdks_only_inside_their_adapter() -> None:
    wrong = [
        str(i)
        for module, found in IMPORTS.items()
        for i in found
        for sdk, home in PLATFORM_SDKS.items()
        if _within(i.target, sdk) and not _within(module, home)
    ]
    assert wrong == []


def test_sql_is_written_only_in_memory() -> None:
    wrong = [
        str(i)
        for module, found in IMPORTS.items()
        if _within(module, "bot") or _within(module, "adapters") or _within(module, "skills")
        for i in found
        if _within(i.target, "sqlalchemy")
        and not (i.names and set(i.names) <= BOT_MAY_IMPORT_FROM_SQLALCHEMY)
    ]
    assert wrong == []


def test_every_package_says_what_lives_there() -> None:
    missing = [
        name
        for name, path in MODULES.items()
        if path.name == "__init__.py"
        and not _within(name, "migrations.versions")
        and len((ast.get_docstring(ast.parse(path.read_text())) or "").strip()) < 40
    ]
    assert missing == []


def test_no_module_is_imported_by_a_name_that_is_gone() -> None:
    """An import of one of our modules that does not exist (a stale path after a move)."""
    wrong = [
        str(i)
        for found in IMPORTS.values()
        for i in found
        if _ours(i.target) and i.target not in MODULES
    ]
    assert wrong == []
