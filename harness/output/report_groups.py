"""Split one allure-results folder into groups of whole targets, one Allure report per group.

At fleet size one Allure 3 report does not open (40,000 results froze headless Chromium for
minutes), while a report of a couple of thousand results opens in seconds. So the results are
indexed once (the few fields the overview and history need), grouped, and each group gets a
results folder of hard links: its results, the containers that name them, the attachments of
both (a fixture's container holds the scanner's raw evidence), and the run-wide files
(environment, categories, executor).

`target` puts a target into one of G buckets by a hash of its name (G = results / group size,
rounded up), so a target stays in its group while the fleet's size does; `tag` groups by a
target's first tag (split into hash buckets when too big). History does not depend on the
grouping: harness.output.history keeps one file for the whole run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.output.allure_files import CATEGORIES

RUN_FILES = ("environment.properties", "categories.json", "executor.json")
GROUP_BY = ("target", "tag")


@dataclass(frozen=True)
class Result:
    """The fields of one Allure result that the overview, groups and history use."""

    uuid: str
    file: str  # allure-python names the file with a uuid of its own, not the result's
    history_id: str
    status: str
    target: str
    check: str
    address: str
    tag: str
    risk: str
    finding: str  # new | known | "" (no finding, or no --known-findings)
    category: str
    name: str
    attachments: tuple[str, ...]


@dataclass
class Group:
    key: str  # folder name inside the report
    title: str
    results: list[Result] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        return sorted({r.target for r in self.results})


def _rule(c: dict[str, Any]) -> tuple[str, set[str], re.Pattern[str] | None, dict[str, Any]]:
    m = c.get("matchers", {})
    labels = {k: re.compile(v) for k, v in m.get("labels", {}).items()}
    regex = c.get("messageRegex")
    return (
        str(c["name"]),
        set(c.get("matchedStatuses", m.get("statuses", []))),
        re.compile(regex) if regex else None,
        labels,
    )


_CATEGORY_RULES = [_rule(c) for c in CATEGORIES]


def category(status: str, message: str, labels: dict[str, str] | None = None) -> str:
    """The category Allure files this result under, by the same rules (first match wins)."""
    have = labels or {}
    for name, statuses, regex, wanted in _CATEGORY_RULES:
        if status not in statuses or (regex is not None and not regex.fullmatch(message)):
            continue
        if all(k in have and pattern.search(have[k]) for k, pattern in wanted.items()):
            return name
    return ""


def _walk_attachments(node: dict[str, object], out: list[str]) -> None:
    for att in node.get("attachments", []) or []:  # type: ignore[attr-defined]
        if isinstance(att, dict) and isinstance(att.get("source"), str):
            out.append(att["source"])
    for step in node.get("steps", []) or []:  # type: ignore[attr-defined]
        if isinstance(step, dict):
            _walk_attachments(step, out)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def allure_history_id(data: dict[str, Any]) -> str:
    """The history id Allure 3 gives a result (core/store/convert.js): not the file's own
    historyId but md5 of its test case id, a dot, and md5 of its sorted parameters."""
    labels = {lb.get("name"): lb.get("value") for lb in data.get("labels", [])}
    allure_id = labels.get("ALLURE_ID") or labels.get("AS_ID")
    if allure_id and allure_id != "-1":
        case = _md5(f"ALLURE_ID={allure_id}")
    elif data.get("testCaseId"):
        case = _md5(str(data["testCaseId"]))
    elif data.get("fullName"):
        case = _md5(str(data["fullName"]))
    else:
        return ""
    params = sorted(
        (str(p.get("name", "")), str(p.get("value", "")))
        for p in data.get("parameters", []) or []
        if isinstance(p, dict) and not p.get("excluded")
    )
    return f"{case}.{_md5(','.join(f'{n}:{v}' for n, v in params))}"


def read(results_dir: Path) -> list[Result]:
    """Index every *-result.json; a result without our labels is grouped as target '(other)'."""
    out: list[Result] = []
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue  # a damaged file: Allure skips it too
        labels: dict[str, str] = {}
        tags: list[str] = []
        for lb in data.get("labels", []):
            labels.setdefault(str(lb.get("name")), str(lb.get("value")))
            if lb.get("name") == "tag":
                tags.append(str(lb.get("value")))
        # allure-pytest turns the suite's area marker (tls, ports...) into a tag too
        # and the severity rides as a tag too ("severity: high"): neither is a target's tag
        tags = [t for t in tags if t != labels.get("epic") and not t.startswith("severity: ")]
        status = str(data.get("status") or "unknown")
        message = str((data.get("statusDetails") or {}).get("message") or "")
        atts: list[str] = []
        _walk_attachments(data, atts)
        out.append(
            Result(
                uuid=str(data.get("uuid") or path.name.removesuffix("-result.json")),
                file=path.name,
                history_id=allure_history_id(data),
                status=status,
                target=labels.get("target") or labels.get("parentSuite") or "(other)",
                check=labels.get("check") or labels.get("story") or str(data.get("name", "")),
                address=labels.get("address", ""),
                tag=tags[0] if tags else "",
                risk=labels.get("risk", ""),
                finding=labels.get("finding", ""),
                category=category(status, message, labels),
                name=str(data.get("name", "")),
                attachments=tuple(atts),
            )
        )
    return out


def _bucket(name: str, buckets: int) -> int:
    return zlib.crc32(name.encode()) % buckets


def _buckets_for(n_results: int, group_size: int) -> int:
    return max(1, math.ceil(n_results / group_size))


def split(results: list[Result], by: str, group_size: int) -> list[Group]:
    """Whole targets per group, about `group_size` results each, stable across runs."""
    if by not in GROUP_BY:
        raise ValueError(f"unknown grouping {by!r}")
    families: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        families[(r.tag or "untagged") if by == "tag" else ""].append(r)
    groups: list[Group] = []
    for family, members in sorted(families.items()):
        n = _buckets_for(len(members), group_size)
        parts: dict[int, list[Result]] = defaultdict(list)
        for r in members:
            parts[_bucket(r.target, n)].append(r)
        for i, part in sorted(parts.items()):
            stem = f"tag-{_slug(family)}" if by == "tag" else "targets"
            key = f"{stem}-{i + 1:02d}-of-{n:02d}" if n > 1 else stem
            title = (f"tag {family}" if by == "tag" else "targets") + (
                f", part {i + 1} of {n}" if n > 1 else ""
            )
            groups.append(Group(key, title, part))
    return groups


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "_"


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(src, dst)


def _worth_showing(container: dict[str, Any]) -> bool:
    """A fixture's container matters to a reviewer when it holds evidence, steps or a failure.
    The rest (the plugin's subject/measurement/judge set-ups, about four per result) only cost
    Allure time: dropping them from the group reports cuts its work by about a third."""
    for fixture in [*container.get("befores", []), *container.get("afters", [])]:
        if fixture.get("attachments") or fixture.get("steps"):
            return True
        if fixture.get("status") not in (None, "passed"):
            return True
    return False


@dataclass(frozen=True)
class Container:
    """A fixture's container worth showing, and the evidence its fixtures attached (the
    plugin's measurement fixture attaches the scanner's raw output, such as sslyze's JSON)."""

    path: Path
    attachments: tuple[str, ...]


def containers(results_dir: Path) -> dict[str, list[Container]]:
    """Result uuid -> the *-container.json files naming it that are worth showing."""
    out: dict[str, list[Container]] = defaultdict(list)
    for path in results_dir.glob("*-container.json"):
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not _worth_showing(data):
            continue
        atts: list[str] = []
        for fixture in [*data.get("befores", []), *data.get("afters", [])]:
            if isinstance(fixture, dict):
                _walk_attachments(fixture, atts)
        container = Container(path, tuple(atts))
        for child in data.get("children", []):
            out[str(child)].append(container)
    return out


def materialise(
    results_dir: Path,
    group: Group,
    dest: Path,
    all_containers: dict[str, list[Container]],
) -> None:
    """The group's own results folder, made of hard links into `results_dir`: its results,
    their containers, and every attachment either names, so no evidence is missing."""
    dest.mkdir(parents=True, exist_ok=True)
    linked: set[str] = set()

    def link(name: str) -> None:
        # a session fixture's container names many results, a file may be named twice
        if name not in linked and (results_dir / name).is_file():
            linked.add(name)
            _link(results_dir / name, dest / name)

    for r in group.results:
        link(r.file)
        for source in r.attachments:
            link(source)
        for container in all_containers.get(r.uuid, ()):
            link(container.path.name)
            for source in container.attachments:
                link(source)
    for name in RUN_FILES:
        if (results_dir / name).is_file():
            _link(results_dir / name, dest / name)
