"""Small pieces every command line of the project shares."""

from __future__ import annotations

import argparse


def positive_int(name: str):
    """An argparse type: a whole number >= 1; the error names the flag and what was given."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse
