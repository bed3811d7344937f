"""Port checks, one test per check id and target with `ports`, generated from the check
definitions (harness/policy/ports.py). Work is in the probe (nmap, TCP and UDP), judgement in
policy; a check with nothing to report and an unmeasured UDP half ends broken."""

from harness.session.suite import suite_tests

globals().update(suite_tests("ports"))
