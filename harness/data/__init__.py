"""Data shipped with the harness (checks, profiles, catalogues, lists), and how to read it."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml parses these files about ten times faster than the pure-Python loader; the
# catalogue of checks alone is read on every run. Users' targets.yaml keeps the pure-Python
# loader (harness.inventory), whose error positions the inventory messages rely on.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load of a data file (shipped, or a user's replacement of one), with libyaml."""
    loader = _LOADER(text)  # what yaml.safe_load does, with the C safe loader when there is one
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
