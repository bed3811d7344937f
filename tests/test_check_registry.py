"""One definition per check: a check is its catalogue entry (harness/data/checks.yaml, the
prose) and its `@check` decision (the code), nothing else; the suites, the docs and the Allure
results read both. A check defined there appears in every one of them."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import harness.policy
from harness.areas import AREAS, define_checks
from harness.checks import DEFINITIONS, catalogue, check
from harness.inventory import loads
from harness.output import allure_results, checks_doc
from harness.session.subjects import subjects
from harness.session.suite import name_of_test, suite_tests

SUITES = Path(__file__).resolve().parent.parent / "suites"
DOC = Path(__file__).resolve().parent.parent / "docs" / "checks.md"


def _definitions() -> dict[str, Any]:
    # every policy module, not only those the areas name: a check defined in a module its area
    # does not import would silently never run
    for info in pkgutil.walk_packages(harness.policy.__path__, "harness.policy."):
        importlib.import_module(info.name)
    return dict(DEFINITIONS)


def _suite_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_suite_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _suite_tests() -> dict[str, list[Any]]:
    """check id -> the suite test functions marked with it, read from their pytest marks."""
    found: dict[str, list[Any]] = {}
    for path in sorted(SUITES.glob("test_*.py")):
        for name, func in vars(_suite_module(path)).items():
            if not (name.startswith("test_") and callable(func)):
                continue
            for mark in getattr(func, "pytestmark", ()):
                if mark.name == "check":
                    found.setdefault(mark.args[0], []).append(func)
    return found


def test_every_catalogue_id_has_one_definition_and_nothing_else() -> None:
    ids, defined = set(catalogue()), set(_definitions())
    assert ids - defined == set(), "catalogue ids with no @check decision"
    assert defined - ids == set(), "@check ids missing from harness/data/checks.yaml"
    define_checks()  # the areas' own policy modules define them all
    assert set(DEFINITIONS) == ids


def test_each_definition_is_in_its_areas_policy_and_takes_measurement_and_subject() -> None:
    for cid, definition in _definitions().items():
        area = AREAS[catalogue()[cid].area]
        assert definition.decide.__module__.startswith(area.policy), (cid, area.policy)
        params = list(inspect.signature(definition.decide).parameters)
        assert len(params) >= 2 and params[1] == "subject", (cid, params)
        assert set(definition.needs) <= set(params[2:]), (cid, definition.needs)


def test_every_catalogue_id_has_one_suite_test_named_after_it() -> None:
    tests = _suite_tests()
    assert set(tests) == set(catalogue()), "suite check marks differ from the catalogue"
    assert {c: len(f) for c, f in tests.items() if len(f) > 1} == {}, "ids run by two suite tests"
    assert all(f[0].__name__ == name_of_test(c) for c, f in tests.items())


def test_a_check_cannot_be_decided_twice() -> None:
    def first() -> None: ...

    def second() -> None: ...

    try:
        check("test.only")(first)
        check("test.only")(first)  # the same function again (a module reload) is fine
        with pytest.raises(ValueError, match="decided twice"):
            check("test.only")(second)
    finally:
        DEFINITIONS.pop("test.only", None)


TARGETS = """
version: 1
targets:
  - name: web
    host: 127.0.0.1
    ports: {expected: [443]}
    tls: [{port: 443}]
    http: [{url: "https://127.0.0.1/"}]
    ssh: [{port: 22}]
    logins: [{kind: http-basic, url: "https://127.0.0.1/admin"}]
"""


@pytest.mark.parametrize("check_id", list(catalogue()))
def test_a_check_defined_once_appears_everywhere(check_id: str) -> None:
    """Its catalogue entry and its definition are all it takes: the suite has its test, the
    docs its entry (with the deciding function), and the Allure result says what it is judged
    against."""
    entry = catalogue()[check_id]
    suite = vars(_suite_module(SUITES / f"test_{entry.area.value}.py"))
    assert name_of_test(check_id) in suite, "not in its suite"
    assert suite[name_of_test(check_id)] is not None
    assert f"`{check_id}`" in DOC.read_text(encoding="utf-8"), "not in docs/checks.md"
    assert f"**Decided by:** `{DEFINITIONS[check_id].name}`" in checks_doc.explain(check_id)
    (job,) = subjects(loads(TARGETS), entry.area)
    words = allure_results.judged_against(entry, job)
    assert words.startswith("judged "), words


def test_judged_against_is_the_definitions_own_words_or_its_areas() -> None:
    inv = loads(TARGETS)
    (tls,) = subjects(inv, "tls")
    (logins,) = subjects(inv, "logins")
    (ports,) = subjects(inv, "ports")
    said = {
        cid: allure_results.judged_against(catalogue()[cid], job)
        for cid, job in [
            ("tls.grade", tls),
            ("tls.cert.trust", tls),
            ("tls.protocols", tls),
            ("ports.unexpected", ports),
            ("login.lockout", logins),
        ]
    }
    assert said["tls.grade"] == "judged against a minimum grade of A"
    assert said["tls.cert.trust"] == "judged against the system trust stores"
    assert said["tls.protocols"].startswith("judged against Mozilla intermediate ")
    assert said["ports.unexpected"] == "judged against ports.expected (443)"
    assert said["login.lockout"].startswith("judged within a budget of ")


def test_suite_tests_are_generated_in_catalogue_order() -> None:
    for area in AREAS:
        names = list(suite_tests(area))
        assert names == [name_of_test(c.id) for c in catalogue().values() if c.area == area]


def test_every_area_has_its_words_in_the_one_registry() -> None:
    """Each area's probe, policy and wording are in harness.areas, and every output reads them
    there: the docs and the result page name each area in its own words."""
    from harness.areas import AREAS, Area, define_checks, load_probe
    from harness.output import checks_doc

    assert set(AREAS) == set(Area)
    define_checks()  # every area's policy module imports
    for area, spec in AREAS.items():
        assert spec.area is area and spec.tool and spec.measured and spec.broken
        assert "{where}" in spec.affected
        assert load_probe(area).name == area.value, f"{area}: its probe names another kind"
    doc = checks_doc.markdown()
    assert all(spec.measured in doc and spec.broken in doc for spec in AREAS.values())


def test_a_login_part_not_measured_ends_every_check_that_reads_it_broken() -> None:
    """The suites once held this in per-part fixtures (require); each decision raises now."""
    from harness.errors import CouldNotMeasure, FailureKind, ProbeFailure
    from harness.probes.logins.model import Channel, LoginResult

    failed = ProbeFailure(FailureKind.AMBIGUOUS, "t", "a wrong password was accepted too")
    result = LoginResult("http-basic", "t", Channel(True, "HTTPS"), *[failed] * 4, 0, 10)
    (job,) = subjects(loads(TARGETS), "logins")
    define_checks("logins")
    for cid in (c.id for c in catalogue().values() if c.area == "logins"):
        if cid == "login.cleartext":  # the channel is known before any attempt
            assert DEFINITIONS[cid].decide(result, job).ok
            continue
        with pytest.raises(CouldNotMeasure, match="wrong password was accepted"):
            DEFINITIONS[cid].decide(result, job)
