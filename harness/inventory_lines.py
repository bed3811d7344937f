"""Where in targets.yaml a defect is: pydantic error locations -> 'line 12: target 'web-01',
key 'tls[0].prot': ' prefixes, read from the YAML node tree (line numbers survive validation)."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

# the file path of each model ("targets", "tls") -> its class, for the allowed keys
Models = dict[tuple[str, ...], type[BaseModel]]


def expanded_size(node: yaml.Node, budget: int) -> int:
    """Values the document holds once aliases are expanded, counted up to budget + 1.

    An alias bomb is small on disk but makes validation walk billions of values."""
    count = 0
    stack = [node]
    while stack and count <= budget:
        current = stack.pop()
        count += 1
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
    return count


def describe(err: Any, data: Any, node: yaml.Node | None, models: Models) -> str:
    """One readable line for one pydantic error: where in the file, what is wrong, the fix."""
    loc = tuple(err["loc"])
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(loc[:-1], models)
        what = f"unknown key {key!r}"
        fix = f"Fix: correct or remove it; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{locate(loc, data, node)}{what}. {fix}".rstrip()
    if kind == "missing":
        return f"{locate(loc, data, node)}required key is missing. Fix: add it"
    msg = msg.removeprefix("Value error, ").replace("Input should be", "expected")
    got = err.get("input")
    shown_got = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{locate(loc, data, node)}{msg}{shown_got}"


def _allowed_keys(loc: tuple[Any, ...], models: Models) -> list[str]:
    path = [p for p in loc if isinstance(p, str)]
    model = models.get(tuple(path), models[()])
    return sorted(k for k in model.model_fields if k not in ("path", "lines"))  # not from YAML


def locate(loc: tuple[Any, ...], data: Any, node: yaml.Node | None) -> str:
    """'line 12: target 'web-01', key tls[0].prot: ' for a pydantic location."""
    parts: list[str] = []
    target = ""
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        try:
            name = data["targets"][loc[1]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        target = f"target {name!r}" if isinstance(name, str) else f"targets[{loc[1]}]"
        rest = loc[2:]
    else:
        rest = loc
    for p in rest:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in ("int", "str", "list[union[int,str]]") or "[" in str(p):
            continue  # pydantic's union branch tags, not YAML keys
        else:
            parts.append(("." if parts else "") + str(p))
    key = "".join(parts)
    line = line_of(loc, node)
    out = f"line {line}: " if line else ""
    if target:
        out += target + (", " if key else ": ")
    if key:
        out += f"key {key!r}: "
    return out


def line_of(loc: tuple[Any, ...], node: yaml.Node | None) -> int | None:
    line: int | None = None
    for p in loc:
        if node is None:
            break
        if isinstance(node, yaml.MappingNode) and isinstance(p, str):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == p:
                    line = k.start_mark.line + 1
                    nxt = v
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(p, int):
            if 0 <= p < len(node.value):
                node = node.value[p]
                line = node.start_mark.line + 1
            else:
                node = None
        # union branch tags leave the node where it is
    return line
