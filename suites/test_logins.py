"""Weak-login checks, one test per check id and login endpoint.

The probe makes every attempt (control first, within the budget); policy judges. A part the
probe could not measure (an ambiguous endpoint, a refused connection) raises in its fixture,
and a guessing check whose lists were not tried to their minimum raises in the test, so the
test ends broken, never passed.
"""

import pytest

from harness.policy import logins as policy
from harness.probes.logins import require


@pytest.fixture
def guesses(measurement):
    return require(measurement.guesses)


@pytest.fixture
def anonymous_access(measurement):
    return require(measurement.anonymous)


@pytest.fixture
def lockout_result(measurement):
    return require(measurement.lockout)


@pytest.fixture
def policy_result(measurement):
    return require(measurement.password_policy)


@pytest.mark.check("login.default_credentials")
def test_login_default_credentials(subject, guesses, judge):
    judge(require(policy.default_credentials(guesses, subject.where)))


@pytest.mark.check("login.weak_password")
def test_login_weak_password(subject, guesses, judge):
    judge(require(policy.weak_password(guesses, subject.where)))


@pytest.mark.check("login.anonymous")
def test_login_anonymous(subject, anonymous_access, judge):
    judge(policy.anonymous(anonymous_access))


@pytest.mark.check("login.cleartext")
def test_login_cleartext(subject, measurement, judge):
    pp = subject.endpoint.password_policy
    judge(policy.cleartext(measurement.channel, pp.url if pp else None))


@pytest.mark.check("login.lockout")
def test_login_lockout(subject, lockout_result, judge):
    judge(policy.lockout(lockout_result))


@pytest.mark.check("login.password_policy")
def test_login_password_policy(subject, policy_result, judge):
    judge(policy.password_policy(policy_result))
