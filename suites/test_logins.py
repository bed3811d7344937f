"""Weak-login checks, one test per check id and login endpoint, generated from the check
definitions (harness/policy/logins.py).

The probe makes every attempt (control first, within the budget); policy judges. A part the
probe could not measure (an ambiguous endpoint, a refused connection), or a guessing check whose
lists were not tried to their minimum, raises in the decision, so the test ends broken, never
passed."""

from harness.session.suite import suite_tests

globals().update(suite_tests("logins"))
