"""Placeholder: filled in by its issue."""

import sys


def cli_refresh(*args, **kwargs) -> int:
    print("error: 'cli_refresh' is not available yet", file=sys.stderr)
    return 2
