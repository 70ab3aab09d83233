"""Placeholder: filled in by its issue."""

import sys


def cli_usage(*args, **kwargs) -> int:
    print("error: 'cli_usage' is not available yet", file=sys.stderr)
    return 2
