"""Placeholder: filled in by its issue."""

import sys


def cli_ingest(*args, **kwargs) -> int:
    print("error: 'cli_ingest' is not available yet", file=sys.stderr)
    return 2
