"""Placeholder: filled in by its issue."""

import sys


def cli_serve(*args, **kwargs) -> int:
    print("error: 'cli_serve' is not available yet", file=sys.stderr)
    return 2
