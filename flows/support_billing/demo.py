"""Placeholder: filled in by its issue."""

import sys


def cli_demo(*args, **kwargs) -> int:
    print("error: 'cli_demo' is not available yet", file=sys.stderr)
    return 2
