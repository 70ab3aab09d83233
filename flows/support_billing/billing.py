"""Placeholder: filled in by its issue."""

import sys


def cli_bill(*args, **kwargs) -> int:
    print("error: 'cli_bill' is not available yet", file=sys.stderr)
    return 2
