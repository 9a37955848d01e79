"""The files a ``file`` source reads: its paths and globs expanded, in one stable order.

A literal path (no glob characters) that does not exist is an error, not an empty source: a
missing mount or a typo must not sweep away what the file provided. A glob that matches
nothing is an empty set (files removed on purpose).
"""

import glob
import os
from collections.abc import Sequence

from catalog_ingest.contracts.errors import UpstreamError

_GLOB_CHARACTERS = frozenset("*?[")


class MissingFileError(UpstreamError):
    """A file named without a glob does not exist (or is not a regular file)."""


def is_pattern(path: str) -> bool:
    return not _GLOB_CHARACTERS.isdisjoint(path)


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Every regular file the paths name, absolute, deduplicated and sorted."""
    found: set[str] = set()
    for path in paths:
        expanded = os.path.expanduser(path)
        if is_pattern(expanded):
            matches = glob.glob(expanded, recursive=True)
            found.update(os.path.abspath(m) for m in matches if os.path.isfile(m))
        elif os.path.isfile(expanded):
            found.add(os.path.abspath(expanded))
        else:
            raise MissingFileError(f"{path}: no such file")
    return sorted(found)
