"""The pytest session: the plugin (options, collection, fixtures, verdicts, summary), the probe
runner, the area subjects, and the run-level pieces around them (shards, SIGTERM, per-address
folding, the known-hosts command).

Imports point down only: session -> output (Allure results) -> the core model, probes, policy.
"""
