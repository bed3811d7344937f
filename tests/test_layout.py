"""The package stays readable: no module in harness/ over 400 lines, no import circle, layers
that point down, a policy that sees only probe models, and sslyze's private names in one place.

The import graph is read from the source with `ast` (nothing is imported): an edge is an
import at a module's top level, `if TYPE_CHECKING:` blocks included (a type-only import still
ties two modules together for a reader). Imports inside functions are left out of the circle
walk: they run after every module has loaded (the probe registry imports its probes so). The
policy rule and the sslyze rule read every import, a function's included: one that runs later
still loads what it names.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Collection
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


def _every_import(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def _targets(
    name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: Collection[str]
) -> set[str]:
    """The modules one import statement names (harness modules by their module, when known)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    base = node.module or ""
    if node.level:  # relative: from . import x, from .y import z
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    # `from harness.output import report` imports the module harness.output.report
    subs = {f"{base}.{a.name}" for a in node.names} & set(modules)
    return subs or {base}


def imports_of(
    name: str, path: Path, modules: Collection[str], everywhere: bool = False
) -> list[tuple[str, int]]:
    """(module imported, line) for each import of a module: at its top level, or `everywhere`."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = _every_import(tree) if everywhere else _top_level_imports(tree)
    return sorted({(t, n.lineno) for n in nodes for t in _targets(name, path, n, modules)})


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the harness modules it imports at its top level."""
    return {
        name: {t for t, _ in imports_of(name, path, modules) if t in modules and t != name}
        for name, path in modules.items()
    }


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
    modules = _modules()
    found = circles(import_graph(modules))
    # each circle's imports, by file and line, so the one to cut can be found
    imports = [
        f"{modules[name].relative_to(HARNESS.parent)}:{line} imports {target}"
        for group in found
        for name in group
        for target, line in imports_of(name, modules[name], modules)
        if target in group and target != name
    ]
    assert not found, (
        f"import circles in harness/: {found}, through {imports}. Fix: move the shared piece down"
    )


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


# the layers above the core; every other top-level module of harness/ is the core
ABOVE_THE_CORE = ("probes", "policy", "session", "output", "commands", "lab", "cli")


def is_probe_model(module: str) -> bool:
    """A probe's result model: harness.probes...model, ..._model, or in a `models` package."""
    parts = module.split(".")
    if parts[:2] != ["harness", "probes"] or len(parts) < 3:
        return False
    return parts[-1] == "model" or parts[-1].endswith("_model") or "models" in parts[2:]


def is_core(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "harness" and len(parts) > 1 and parts[1] not in ABOVE_THE_CORE


def policy_leaks(modules: dict[str, Path]) -> list[str]:
    """Each import in policy/ of a harness module that is neither the core, the policy, nor a
    probe's model: 'file:line imports module'."""
    found = []
    for name, path in modules.items():
        if not name.startswith("harness.policy"):
            continue
        for target, line in imports_of(name, path, modules, everywhere=True):
            if target.split(".")[0] != "harness" or target.startswith("harness.policy"):
                continue
            if not (is_core(target) or is_probe_model(target)):
                found.append(f"{path.relative_to(HARNESS.parent)}:{line} imports {target}")
    return found


def test_the_policy_imports_only_probe_models_and_the_core() -> None:
    leaks = policy_leaks(_modules())
    assert not leaks, (
        f"policy/ reaches into probe engines or upper layers: {leaks}. Fix: the policy judges "
        "a probe's result model (tls/model.py, ports_model.py, logins/model.py); move pure data "
        "it needs to the core (harness/data/) and import that"
    )


HEAVY = ("paramiko", "requests", "sslyze", "nassl", "nmap")


def test_importing_the_policy_loads_no_probe_library() -> None:
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import harness.policy\n"
        "for m in pkgutil.walk_packages(harness.policy.__path__, 'harness.policy.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(json.dumps(sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], (
        f"importing harness.policy.* loads {loaded}: some module it imports (or one of their "
        "packages' __init__) imports a probe engine. Fix: import only probe models there, and "
        "load engines lazily in their package's __init__ (as probes/tls and probes/logins do)"
    )


ADAPTER = "harness.probes.tls.sslyze_adapter"
THIRD_PARTY = ("sslyze", "nassl")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def private_sslyze_uses(path: Path) -> list[str]:
    """Each private sslyze/nassl name a module imports or reads from an import: 'line name'."""
    tree = ast.parse(path.read_text(), str(path))
    bound: dict[str, str] = {}  # local name -> the sslyze/nassl name it was imported as
    found: list[str] = []
    for node in _every_import(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in THIRD_PARTY:
                    bound[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
                    if _private(alias.name):
                        found.append(f"{node.lineno} {alias.name}")
        elif (node.module or "").split(".")[0] in THIRD_PARTY and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                bound[alias.asname or alias.name] = full
                if _private(full):
                    found.append(f"{node.lineno} {full}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            parts: list[str] = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                parts.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                found.append(f"{node.lineno} {bound[value.id]}.{'.'.join(parts)}")
    return sorted(set(found))


def test_private_sslyze_and_nassl_names_are_used_only_in_the_adapter() -> None:
    outside = [
        f"{path.relative_to(HARNESS.parent)}:{use}"
        for name, path in _modules().items()
        if name != ADAPTER
        for use in private_sslyze_uses(path)
    ]
    assert not outside, (
        f"private sslyze/nassl names outside {ADAPTER}: {outside}. Fix: wrap each in a small "
        "typed function there, and add its check to tests/test_sslyze_contract.py"
    )


def test_the_adapter_is_where_the_private_names_are() -> None:
    # so that the rule above guards something: the adapter's own uses are found by the walk
    adapter = _modules()[ADAPTER]
    uses = {use.split(" ", 1)[1] for use in private_sslyze_uses(adapter)}
    assert {
        "nassl._nassl",
        "sslyze.scanner._mass_scanner._OngoingServerScan",
        "sslyze.connection_helpers.tls_connection._open_socket_for_direct_connection",
        "sslyze.plugins.heartbleed_plugin._do_handshake_with_heartbleed",
    } <= uses, uses


# the walks themselves, on small graphs with known answers, so that a broken walk cannot pass


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


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sslyze.scanner._mass_scanner import x\n", ["1 sslyze.scanner._mass_scanner.x"]),
        ("from nassl import _nassl\n", ["1 nassl._nassl"]),
        ("import sslyze._private\n", ["1 sslyze._private"]),
        (
            "from sslyze.plugins import heartbleed_plugin as hb\n"
            "def f():\n    return hb._do_handshake_with_heartbleed\n",
            ["3 sslyze.plugins.heartbleed_plugin._do_handshake_with_heartbleed"],
        ),
        (
            "import sslyze\nx = sslyze.connection_helpers.tls_connection._open\n",
            ["2 sslyze.connection_helpers.tls_connection._open"],
        ),
        ("from sslyze.errors import ServerRejectedTlsHandshake\nself._sock = 1\n", []),
        ("def f():\n    from nassl import _nassl\n", ["2 nassl._nassl"]),
    ],
)
def test_the_walk_finds_private_sslyze_names(
    tmp_path: Path, source: str, expected: list[str]
) -> None:
    module = tmp_path / "m.py"
    module.write_text(source)
    assert private_sslyze_uses(module) == expected


def test_the_policy_rule_tells_models_from_engines() -> None:
    assert is_probe_model("harness.probes.tls.model") and is_probe_model(
        "harness.probes.ports_model"
    )
    assert is_probe_model("harness.probes.x.models.result")
    assert not is_probe_model("harness.probes.logins.lists")
    assert not is_probe_model("harness.probes.tls") and not is_probe_model("harness.probes")
    assert is_core("harness.checks") and is_core("harness.data.passwords")
    assert not is_core("harness.probes.ports") and not is_core("harness.session.plugin")
