"""The subcommands of the `harness` console script that live outside cli.py: report, sarif,
catalogue (and its refresh, the one network fetch outside the probes), known-hosts. Each has a
`main(argv) -> int` and parses its own options; harness.cli dispatches to them. The library code
they call stays in its layer (output, policy, probes)."""
