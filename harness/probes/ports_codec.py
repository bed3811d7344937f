"""A port scan as plain data (dicts, lists, strings, numbers) and back, so the scan one process
made (discovery on the xdist controller) reaches the workers through `workerinput` unchanged."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from harness.errors import FailureKind, ProbeFailure
from harness.probes.ports_model import OpenPort, PortScan, UdpScan


def dump(result: PortScan | ProbeFailure) -> dict[str, Any]:
    if isinstance(result, ProbeFailure):
        return {"failure": _failure(result)}
    data = asdict(result)
    if isinstance(result.udp, ProbeFailure):
        data["udp"] = {"failure": _failure(result.udp)}
    return {"scan": data}


def load(data: dict[str, Any]) -> PortScan | ProbeFailure:
    if "failure" in data:
        return _unfailure(data["failure"])
    scan = dict(data["scan"])
    udp = scan.pop("udp")
    return PortScan(
        **{
            **scan,
            "open_ports": _ports(scan["open_ports"]),
            "notes": tuple(scan["notes"]),
        },
        udp=None if udp is None else _udp(udp),
    )


def _udp(data: dict[str, Any]) -> UdpScan | ProbeFailure:
    if "failure" in data:
        return _unfailure(data["failure"])
    return UdpScan(
        **{
            **data,
            "open_ports": _ports(data["open_ports"]),
            "open_filtered": tuple(data["open_filtered"]),
            "notes": tuple(data["notes"]),
        }
    )


def _ports(items: list[dict[str, Any]]) -> tuple[OpenPort, ...]:
    return tuple(OpenPort(**{**p, "cpes": tuple(p["cpes"])}) for p in items)


def _failure(failure: ProbeFailure) -> dict[str, str]:
    return {"kind": failure.kind.value, "where": failure.where, "reason": failure.reason}


def _unfailure(data: dict[str, str]) -> ProbeFailure:
    return ProbeFailure(FailureKind(data["kind"]), data["where"], data["reason"])
