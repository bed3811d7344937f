"""Banner checks, one test per check id and target with `ports` or `http`, generated from the
check definitions (harness/policy/banners.py). The banner probe reads headers and greetings (plus
nmap -sV); policy judges them against the software catalogue, whose snapshot date every
banner.outdated result shows."""

from harness.session.suite import suite_tests

globals().update(suite_tests("banners"))
