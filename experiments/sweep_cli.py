"""Old import path of :mod:`experiments.sweep.cli` (``cascade sweep`` and ``cascade attribute``).

Kept so that imports and ``python -m experiments.sweep_cli ...`` keep working.
"""

from __future__ import annotations

import sys

from experiments.sweep.cli import cmd_attribute, cmd_sweep, fail_line, main, parse_int, register

__all__ = ["cmd_attribute", "cmd_sweep", "fail_line", "main", "parse_int", "register"]

if __name__ == "__main__":
    sys.exit(main())
