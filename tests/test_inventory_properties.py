"""Property tests of the targets.yaml loader: whatever the input, it validates or raises
InventoryError with a message. It never raises anything else."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InventoryError
from harness.inventory import loads

KEYS = [
    "version",
    "defaults",
    "targets",
    "waivers",
    "name",
    "host",
    "tags",
    "ports",
    "tls",
    "http",
    "logins",
    "port",
    "url",
    "kind",
    "timeout",
    "expected",
    "scan",
    "check",
    "target",
    "reason",
    "expires",
    "server_name",
    "ca_bundle",
    "min_grade",
    "-iL",
    "x",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(KEYS),
    st.sampled_from(["127.0.0.1", "-iL /etc/passwd", "top-10", "all", "1-65536", "2027-01-01"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    ),
    max_leaves=25,
)


def _check(text: str) -> None:
    try:
        inv = loads(text)
    except InventoryError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        assert "Traceback" not in exc.render()
    else:
        assert inv.targets


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_arbitrary_yaml_values(value: object) -> None:
    _check(yaml.safe_dump(value))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), max_size=3),
)
def test_arbitrary_documents_shaped_like_inventories(
    top: dict[str, object], targets: list[object]
) -> None:
    doc = {"version": 1, **top, "targets": targets}
    _check(yaml.safe_dump(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _check(text)
