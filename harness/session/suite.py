"""The suites' tests, generated from the check definitions: per check of an area, one test
named `test_<id, dots as underscores>` and marked `@pytest.mark.check(id)`, which judges the
definition's decision on the test's subject. Names and marks are what hand-written tests had,
so test ids, -k, -m, waivers and Allure history stay as they were.

A check whose measurement lacks a part it needs raises CouldNotMeasure from its decision, so the
test ends broken, never passed."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from harness.areas import area_of, define_checks
from harness.checks import DEFINITIONS, Definition, catalogue

_FIXTURES = ("subject", "measurement", "judge")


def name_of_test(check_id: str) -> str:
    return "test_" + check_id.replace(".", "_")


def suite_tests(area: str) -> dict[str, Callable[..., None]]:
    """The test functions of one area's suite module, in catalogue order, by name."""
    define_checks(area_of(area).area)
    tests: dict[str, Callable[..., None]] = {}
    for check in catalogue().values():
        if check.area != area:
            continue
        definition = DEFINITIONS.get(check.id)
        if definition is None:
            raise LookupError(
                f"check {check.id} is in harness/data/checks.yaml but no policy function is "
                f'defined for it: add @check("{check.id}") to its decision in '
                f"{area_of(area).policy}"
            )
        tests[name_of_test(check.id)] = _test(definition)
    return tests


def _test(definition: Definition) -> Callable[..., None]:
    decide = definition.decide

    def test(subject: Any, measurement: Any, judge: Any, **needs: Any) -> None:
        judge(decide(measurement, subject, **needs))

    # pytest reads the fixtures a test takes from its signature
    names = (*_FIXTURES, *definition.needs)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    test.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, kind) for n in names]
    )
    test.__name__ = test.__qualname__ = name_of_test(definition.id)
    test.__doc__ = None
    marked: Callable[..., None] = pytest.mark.check(definition.id)(test)
    return marked
