"""The SSH algorithm policy (harness/data/ssh_policy.yaml) as typed rules."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any

from harness.checks import Severity
from harness.data import load_yaml


@dataclass(frozen=True)
class Rule:
    match: str  # an fnmatch pattern over algorithm names
    severity: Severity
    reason: str
    source: str


@dataclass(frozen=True)
class Section:
    """One list of the server's offer (kex, host keys, ciphers, MACs) and its rules."""

    affected: str
    fix: str  # an sshd_config line; {names} is replaced
    rules: tuple[Rule, ...]

    def rule_for(self, name: str) -> Rule | None:
        """The first rule that matches `name`, or None for a name the policy accepts."""
        return next((r for r in self.rules if fnmatchcase(name, r.match)), None)


@dataclass(frozen=True)
class SshPolicy:
    date: str
    kex: Section
    host_keys: Section
    ciphers: Section
    macs: Section
    gex_min_bits: int
    gex_fix: str
    post_quantum: tuple[str, ...]
    post_quantum_fix: str
    rsa_fail_below: int
    rsa_warn_below: int
    key_fix: str
    etm_severity: Severity
    etm_reason: str
    terrapin_affected: str
    terrapin_fix: str

    def describe(self) -> str:
        return f"SSH algorithm policy of {self.date} (harness/data/ssh_policy.yaml)"


def _text(value: str) -> str:
    return " ".join(value.split())


def _section(raw: dict[str, Any], sources: dict[str, str]) -> Section:
    rules = []
    for r in raw["rules"]:
        if r["source"] not in sources:
            raise ValueError(f"ssh_policy.yaml: rule {r['match']!r} cites unknown {r['source']!r}")
        rules.append(Rule(r["match"], Severity(r["severity"]), _text(r["reason"]), r["source"]))
    return Section(_text(raw["affected"]), _text(raw["fix"]), tuple(rules))


def parse(raw: dict[str, Any]) -> SshPolicy:
    sources = raw["sources"]
    kex, keys, macs, terrapin = raw["kex"], raw["host_keys"], raw["macs"], raw["terrapin"]
    return SshPolicy(
        date=str(raw["date"]),
        kex=_section(kex, sources),
        host_keys=_section(keys, sources),
        ciphers=_section(raw["ciphers"], sources),
        macs=_section(macs, sources),
        gex_min_bits=int(kex["gex_min_bits"]),
        gex_fix=_text(kex["gex_fix"]),
        post_quantum=tuple(kex["post_quantum"]),
        post_quantum_fix=_text(kex["post_quantum_fix"]),
        rsa_fail_below=int(keys["rsa_fail_below"]),
        rsa_warn_below=int(keys["rsa_warn_below"]),
        key_fix=_text(keys["key_fix"]),
        etm_severity=Severity(macs["etm_severity"]),
        etm_reason=_text(macs["etm_reason"]),
        terrapin_affected=_text(terrapin["affected"]),
        terrapin_fix=_text(terrapin["fix"]),
    )


@cache
def load() -> SshPolicy:
    text = resources.files("harness.data").joinpath("ssh_policy.yaml").read_text()
    return parse(load_yaml(text))
