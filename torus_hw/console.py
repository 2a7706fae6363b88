"""Where the CLI's tables go: a rich console that stays readable when piped.

rich falls back to 80 columns when stdout is not a terminal, which folds the
wide cost tables into unreadable stubs in logs and CI output; piped output
gets a wide console instead.
"""

from __future__ import annotations

PIPED_WIDTH = 200


def console(*, stderr: bool = False):
    from rich.console import Console

    c = Console(stderr=stderr)
    if not c.is_terminal:
        c = Console(stderr=stderr, width=PIPED_WIDTH)
    return c
