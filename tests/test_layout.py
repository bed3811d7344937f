"""The package stays readable: no module in harness/ over 400 lines, and no import circle.

The import graph is read from the source with `ast` (nothing is imported): an edge is an
import at a module's top level, `if TYPE_CHECKING:` blocks included (a type-only import still
ties two modules together for a reader). Imports inside functions are left out: they run after
every module has loaded (the probe registry imports its probes so).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(HARNESS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(HARNESS.rglob("*.py"))}


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports at a module's top level: the body, and the bodies of its top-level if/try/with
    blocks; never a function's."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.stmt] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            todo.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            todo.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                todo.extend(handler.body)
        elif isinstance(node, ast.With):
            todo.extend(node.body)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the harness modules it imports at its top level."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from harness.output import report` imports the module harness.output.report
            subs = {f"{base}.{a.name}" for a in node.names} & modules.keys()
            targets.update(subs or {base})
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_in_harness_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not too_long, (
        f"modules over {MAX_LINES} lines: {too_long}. Fix: split the module along a seam, "
        "one clear job per module"
    )


def test_no_import_circle_in_harness() -> None:
    found = circles(import_graph(_modules()))
    assert not found, f"import circles in harness/: {found}. Fix: move the shared piece down"


def test_the_session_and_output_layers_point_down() -> None:
    # the pytest session may use the output package; output and the core never use the session
    graph = import_graph(_modules())
    upward = sorted(
        (name, t)
        for name, targets in graph.items()
        if not name.startswith("harness.session")
        for t in targets
        if t.startswith("harness.session")
    )
    assert not upward, f"imports of the pytest session from below it: {upward}"


def test_only_the_console_script_uses_the_commands() -> None:
    # harness.commands is the top layer: a library module that used a command would carry
    # argument parsing (and, for refresh, network I/O) into the layers below
    graph = import_graph(_modules())
    upward = sorted(
        (name, t)
        for name, targets in graph.items()
        if name != "harness.cli" and not name.startswith("harness.commands")
        for t in targets
        if t.startswith("harness.commands")
    )
    assert not upward, f"imports of harness.commands from below it: {upward}"


# the walk itself, on small graphs with known answers, so that a broken walk cannot pass


def test_the_walk_finds_a_circle_and_only_real_ones() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set(), "c": {"b"}}) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from harness.x import y\n", {"harness.x.y"}),  # a submodule by name
        ("from harness.x import thing\n", {"harness.x"}),  # a name from the package
        ("import harness.x.y\n", {"harness.x.y"}),
        ("from . import y\n", {"harness.x.y"}),
        ("from .y import z\n", {"harness.x.y"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import harness.x.y\n",
            {"harness.x.y"},
        ),
        ("def f():\n    import harness.x.y\n", set()),
        ("try:\n    import harness.x.y\nexcept ImportError:\n    pass\n", {"harness.x.y"}),
    ],
)
def test_the_walk_reads_imports(tmp_path: Path, source: str, expected: set[str]) -> None:
    root = tmp_path / "harness"
    (root / "x").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "x" / "__init__.py").write_text("")
    (root / "x" / "y.py").write_text("")
    (root / "x" / "m.py").write_text(source)
    modules = {
        "harness": root / "__init__.py",
        "harness.x": root / "x" / "__init__.py",
        "harness.x.y": root / "x" / "y.py",
        "harness.x.m": root / "x" / "m.py",
    }
    assert import_graph(modules)["harness.x.m"] == expected
