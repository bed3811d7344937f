"""targets.yaml text -> its YAML node tree (which keeps line numbers) and plain data, parsed once.

libyaml's parser when PyYAML was built with it, else the pure-Python one (validating a 1 MB
fleet file took 16 s of CPU with two pure-Python parses, 3-4 s now: bench/validate_scale.py). Before any data is built, one walk over the node tree refuses what
would crash the constructor or validation, or silently lose a value:
  - nesting deeper than any targets file needs (the constructor recurses per level);
  - aliases that expand into far more values than the file holds (an alias bomb), or an alias
    inside its own anchor;
  - a key written twice in one mapping: YAML keeps the last and drops the first without a word.
A timestamp that is no real date (2027-02-30) stays text, so validation names its key and line
instead of the constructor raising ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 32  # a targets file nests about 8 levels (targets > logins > credentials > key)
MAX_ALIASED = 200_000  # values that aliases add once expanded; a targets file needs none


@dataclass(frozen=True)
class Defect:
    """Something in the node tree that must be refused, with where it is."""

    loc: tuple[str | int, ...]  # the path of keys and indexes, as pydantic locations read
    line: int
    text: str  # the message after the location, with its fix
    before_data: bool = False  # building data from the tree would crash or explode: say first


def _timestamp(loader: Any, node: yaml.ScalarNode) -> object:  # either loader class
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:  # 2027-02-30 looks like a date but is none: keep the text
        return loader.construct_scalar(node)


class _Located(yaml.constructor.SafeConstructor):
    """A value that cannot be built (`!!float x`) is a YAML error at its line, not a bare
    ValueError from deep inside the constructor."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value: {exc}", node.start_mark
            ) from None


class _PyLoader(_Located, yaml.SafeLoader):
    """The pure-Python safe loader, with forgiving timestamps."""


_PyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_LOADER: Any = _PyLoader
if yaml.__with_libyaml__:

    class _CLoader(_Located, yaml.CSafeLoader):
        """libyaml's safe loader, with forgiving timestamps."""

    _CLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _LOADER = _CLoader


def compose(text: str) -> tuple[yaml.Node | None, Any]:
    """The single document's node tree and a loader that can build data from it.

    Raises yaml.YAMLError for broken YAML, nesting too deep to parse included."""
    loader = _LOADER(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    except RecursionError:  # the pure-Python parser recurses per level; libyaml stops at 1000
        mark = loader.get_mark() if hasattr(loader, "get_mark") else None
        loader.dispose()
        raise yaml.composer.ComposerError(
            None, None, f"values are nested more than {MAX_DEPTH} levels deep", mark
        ) from None
    except BaseException:
        loader.dispose()
        raise
    return node, loader


def construct(loader: Any, node: yaml.Node) -> Any:
    """Plain data from a node tree that survey() passed."""
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[tuple[yaml.Node, str | int]]:
    """A collection's child nodes with their names in a location (keys and values of a
    mapping both under the key's name)."""
    if isinstance(node, yaml.SequenceNode):
        return list(zip(node.value, range(len(node.value)), strict=True))
    out: list[tuple[yaml.Node, str | int]] = []
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        out.extend(((key, name), (value, name)))
    return out


def _duplicates(node: yaml.MappingNode, loc: tuple[str | int, ...]) -> list[Defect]:
    seen: dict[tuple[str, str], int] = {}
    found: list[Defect] = []
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue  # merge keys may repeat; complex keys are refused by validation
        line = key.start_mark.line + 1
        if (key.tag, key.value) not in seen:
            seen[(key.tag, key.value)] = line
        else:
            first = seen[(key.tag, key.value)]
            found.append(
                Defect(
                    (*loc, key.value),
                    first,
                    f"the key is written twice in one mapping (lines {first} and {line}); "
                    "YAML would keep the second and drop the first without a word. Fix: merge "
                    "the two into one key (a list under one key holds several entries)",
                )
            )
    return found


def survey(root: yaml.Node) -> list[Defect]:
    """Defects of the node tree, without recursion. Each distinct collection is visited once,
    so an alias bomb costs what its text costs: expanded sizes are summed, never walked."""
    if isinstance(root, yaml.ScalarNode):
        return []
    size: dict[int, int] = {}  # id(collection) -> values in it once aliases are expanded
    written = 0  # values as written in the text: collections plus their scalar children
    path: set[int] = set()  # ids of the collections being walked: the current branch
    defects: list[Defect] = []
    Todo = tuple[yaml.Node, tuple[str | int, ...], list[tuple[yaml.Node, str | int]] | None]
    stack: list[Todo] = [(root, (), None)]
    while stack:
        node, loc, children = stack.pop()
        ident = id(node)
        if children is not None:  # every child is done: sum them up
            total = 1 + sum(size.get(id(child), 1) for child, _ in children)  # a scalar is 1
            size[ident] = min(total, MAX_ALIASED * 10)  # big enough to refuse, bounded
            path.discard(ident)
            continue
        if ident in size:
            continue  # an alias of a collection already walked
        if ident in path:
            text = "a YAML alias refers to its own anchor. Fix: write the values out"
            return [Defect(loc, node.start_mark.line + 1, text, before_data=True)]
        if len(path) >= MAX_DEPTH:
            return [
                Defect(
                    loc,
                    node.start_mark.line + 1,
                    f"values are nested more than {MAX_DEPTH} levels deep; a targets file "
                    "needs about 8. Fix: check the brackets and indentation",
                    before_data=True,
                )
            ]
        if isinstance(node, yaml.MappingNode):
            defects.extend(_duplicates(node, loc))
        path.add(ident)
        children = _children(node)
        stack.append((node, loc, children))
        written += 1
        for child, name in reversed(children):
            if isinstance(child, yaml.ScalarNode):
                written += 1
            else:
                stack.append((child, (*loc, name), None))
    aliased = size[id(root)] - written
    if aliased > MAX_ALIASED:
        defects.append(
            Defect(
                (),
                0,
                f"YAML aliases expand the document by more than {MAX_ALIASED} values. Fix: write "
                "the values out; a targets file needs no aliases",
                before_data=True,
            )
        )
    return defects
