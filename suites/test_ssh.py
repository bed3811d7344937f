"""SSH transport checks, one test per check id and SSH endpoint (declared under `ssh`, and every
ssh login endpoint), generated from the check definitions (harness/policy/ssh.py). The ssh probe
reads the server's offer before any key is agreed; policy judges it against
harness/data/ssh_policy.yaml."""

from harness.session.suite import suite_tests

globals().update(suite_tests("ssh"))
