"""TLS checks, one test per check id and TLS endpoint, generated from the check definitions
(harness/policy/tls). Work is in the probe, judgement in policy."""

from harness.session.suite import suite_tests

globals().update(suite_tests("tls"))
