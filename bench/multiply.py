"""Multiply real allure-results into a fleet-sized folder: N results with distinct targets.

    .venv/bin/python bench/multiply.py SEED_RESULTS OUT --results 40000

Each copy k of the seed renames every target T to T-kNNNN (labels target, parentSuite, suite,
the result's name, its parameters and its history id), gives every result, attachment and container a new uuid,
and hard-links the attachment bodies (copied where links are not possible). So the copies are
distinct targets with their own history ids, as a fleet of that size would produce, while every
file stays one the harness really wrote. The run-wide files (environment, categories, executor)
are copied once. The last copy is cut short so the total is exactly `--results`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

RENAMED_LABELS = ("target", "parentSuite", "suite")
RUN_FILES = ("environment.properties", "categories.json", "executor.json")


def _load(seed: Path, pattern: str) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, json.loads(p.read_bytes())) for p in sorted(seed.glob(pattern))]


def _rename(text: str, targets: list[str], k: int) -> str:
    for t in targets:  # longest first, so tls-01 does not eat part of tls-010
        if t in text:
            return text.replace(t, f"{t}-k{k:04d}")
    return text


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _relink_attachments(node: dict[str, Any], seed: Path, out: Path) -> None:
    for att in node.get("attachments", []) or []:
        source = att.get("source")
        if not source or not (seed / source).is_file():
            continue
        new = f"{uuid.uuid4()}-attachment{Path(source).suffix}"
        _link(seed / source, out / new)
        att["source"] = new
    for step in node.get("steps", []) or []:
        _relink_attachments(step, seed, out)


def multiply(seed: Path, out: Path, results: int) -> int:
    """Write exactly `results` results into `out` (created); returns how many copies were made."""
    seeds = _load(seed, "*-result.json")
    if not seeds:
        raise SystemExit(f"no *-result.json in {seed}")
    containers = _load(seed, "*-container.json")
    targets = sorted(
        {lb["value"] for _, d in seeds for lb in d.get("labels", []) if lb["name"] == "target"},
        key=len,
        reverse=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (seed / name).is_file():
            shutil.copyfile(seed / name, out / name)
    written, k = 0, 0
    while written < results:
        k += 1
        uuids: dict[str, str] = {}
        for _, original in seeds:
            if written >= results:
                break
            data = json.loads(json.dumps(original))  # a deep copy
            new_uuid = str(uuid.uuid4())
            uuids[data["uuid"]] = new_uuid
            data["uuid"] = new_uuid
            data["name"] = _rename(data["name"], targets, k)
            digest = f"{data.get('historyId', '')}/{k}".encode()
            data["historyId"] = hashlib.md5(digest, usedforsecurity=False).hexdigest()
            for lb in data.get("labels", []):
                if lb["name"] in RENAMED_LABELS:
                    lb["value"] = _rename(lb["value"], targets, k)
            for param in data.get("parameters", []):  # Allure tells tests apart by these
                param["value"] = _rename(str(param.get("value", "")), targets, k)
            _relink_attachments(data, seed, out)
            # allure-python names each file with a uuid of its own, not the result's: so do we
            (out / f"{uuid.uuid4()}-result.json").write_text(json.dumps(data))
            written += 1
        for _, original in containers:
            children = [uuids[c] for c in original.get("children", []) if c in uuids]
            if not children:
                continue
            data = json.loads(json.dumps(original))
            data["uuid"] = str(uuid.uuid4())
            data["children"] = children
            for fixture in [*data.get("befores", []), *data.get("afters", [])]:
                _relink_attachments(fixture, seed, out)
            (out / f"{data['uuid']}-container.json").write_text(json.dumps(data))
    return k


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed", type=Path, help="a real allure-results folder")
    parser.add_argument("out", type=Path, help="where to write (created)")
    parser.add_argument("--results", type=int, required=True, help="how many results to write")
    args = parser.parse_args()
    copies = multiply(args.seed, args.out, args.results)
    print(f"{args.results} results in {args.out} ({copies} copies of {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
