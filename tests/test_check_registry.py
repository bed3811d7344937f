"""One definition per check: every catalogue id has exactly one deciding policy function
(`@decides`) and one suite test (`@pytest.mark.check`) that calls it, and nothing else exists."""

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
from harness.checks import DECIDERS, catalogue, decides

SUITES = Path(__file__).resolve().parent.parent / "suites"


def _deciders() -> dict[str, Any]:
    for info in pkgutil.walk_packages(harness.policy.__path__, "harness.policy."):
        importlib.import_module(info.name)
    return dict(DECIDERS)


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


def test_every_catalogue_id_has_one_deciding_policy_and_nothing_else() -> None:
    ids, decided = set(catalogue()), set(_deciders())
    assert ids - decided == set(), "catalogue ids with no @decides policy function"
    assert decided - ids == set(), "@decides ids missing from harness/data/checks.yaml"


def test_every_catalogue_id_has_one_suite_test_and_nothing_else() -> None:
    tests = _suite_tests()
    assert set(catalogue()) - set(tests) == set(), "catalogue ids with no suite test"
    assert set(tests) - set(catalogue()) == set(), "suite check marks missing from the catalogue"
    assert {c: len(f) for c, f in tests.items() if len(f) > 1} == {}, "ids run by two suite tests"


def test_each_suite_test_calls_the_policy_that_decides_its_check() -> None:
    deciders = _deciders()
    wrong = {
        check: deciders[check].__name__
        for check, funcs in _suite_tests().items()
        for func in funcs
        if check in deciders
        and f"policy.{deciders[check].__name__}(" not in inspect.getsource(func)
    }
    assert wrong == {}, "suite tests that do not call their check's deciding function"


def test_a_check_cannot_be_decided_twice() -> None:
    def first() -> None: ...

    def second() -> None: ...

    try:
        decides("test.only")(first)
        decides("test.only")(first)  # the same function again (a module reload) is fine
        with pytest.raises(ValueError, match="decided twice"):
            decides("test.only")(second)
    finally:
        DECIDERS.pop("test.only", None)


def test_every_area_has_its_words_in_the_one_registry() -> None:
    """Each area's probe, policy and wording are in harness.areas, and every output reads them
    there: the docs and the result page name each area in its own words."""
    from harness.areas import Area
    from harness.areas.registry import AREAS, define_checks, load_probe
    from harness.output import checks_doc

    assert set(AREAS) == set(Area)
    define_checks()  # every area's policy module imports
    for area, spec in AREAS.items():
        assert spec.area is area and spec.tool and spec.measured and spec.broken
        assert "{where}" in spec.affected
        assert load_probe(area).name == area.value, f"{area}: its probe names another kind"
    doc = checks_doc.markdown()
    assert all(spec.measured in doc and spec.broken in doc for spec in AREAS.values())
