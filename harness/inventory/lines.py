"""Where in targets.yaml a defect is: pydantic error locations -> 'line 12: target 'web-01',
key 'tls[0].prot': ' prefixes, read from the YAML node tree (line numbers survive validation)."""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml
from pydantic import BaseModel

# the file path of each model ("targets", "tls") -> its class, for the allowed keys
Models = dict[tuple[str, ...], type[BaseModel]]


SHOWN_CHARS = 80  # of a value echoed in a message: a 500 KB host must not flood the terminal
_USERINFO = re.compile(r"//[^/?#@]*@")


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """Text to echo in a message: cut to `limit` characters, with the full length said."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def shown(value: object) -> str:
    """A value from the file as a message echoes it: repr'd, clipped, and with any user and
    password of a URL replaced, since error messages end up in CI logs."""
    text = _USERINFO.sub("//***@", value) if isinstance(value, str) else repr(value)
    if len(text) <= SHOWN_CHARS:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:SHOWN_CHARS]!r}... ({len(text)} characters)"


def describe(err: Any, data: Any, node: yaml.Node | None, models: Models) -> str:
    """One readable line for one pydantic error: where in the file, what is wrong, the fix."""
    loc = tuple(err["loc"])
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(loc[:-1], models)
        what = f"unknown key {shown(key)}{did_you_mean(key, allowed)}"
        fix = f"Fix: correct or remove it; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{locate(loc, data, node)}{what}{'' if what.endswith('?') else '.'} {fix}".rstrip()
    if kind == "missing":
        return f"{locate(loc, data, node)}required key is missing. Fix: add it"
    msg = msg.removeprefix("Value error, ").replace("Input should be", "expected")
    got = err.get("input")
    echoed = "" if isinstance(got, dict | list) or got is None else f" (got {shown(got)})"
    if kind == "literal_error":  # pydantic lists the allowed values as 'a', 'b' or 'c'
        echoed += did_you_mean(got, re.findall(r"'([^']*)'", str(err.get("ctx", {}))))
    if ". Fix: " in msg:  # what was read goes with what is wrong, before the fix
        return locate(loc, data, node) + msg.replace(". Fix: ", f"{echoed}. Fix: ", 1)
    fix = _fix(kind)
    if echoed.endswith("?") and fix:
        fix = fix.removeprefix(".")
    return f"{locate(loc, data, node)}{msg}{echoed}{fix}"


def did_you_mean(value: object, allowed: list[str]) -> str:
    """'; did you mean 'tls_profile'?' when a misspelt key or value is close to an allowed one."""
    if not isinstance(value, str) or not allowed:
        return ""
    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    if not close:  # case and '_' for '-' are the commonest slips; difflib weighs them too much
        folded = {a.lower().replace("_", "-"): a for a in allowed}
        close = difflib.get_close_matches(value.lower().replace("_", "-"), list(folded), n=1)
        close = [folded[c] for c in close]
    return f"; did you mean {close[0]!r}?" if close and close[0] != value else ""


def _fix(kind: str) -> str:
    """A fix for pydantic's own messages; the harness's validators write theirs in the text."""
    if kind.startswith(("date", "datetime")):
        return ". Fix: write a real date as YYYY-MM-DD"
    if kind.startswith("path"):
        return ". Fix: write the file name in quotes"
    if kind == "literal_error":
        return ". Fix: use one of the values listed"
    if kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
        return ". Fix: use a value within that bound"
    if kind.endswith(("_type", "_parsing")):
        return ". Fix: correct the value's type"
    return ""


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
        target = f"target {clip(repr(name))}" if isinstance(name, str) else f"targets[{loc[1]}]"
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
    key = clip("".join(parts))
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
