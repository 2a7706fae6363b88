"""``torus-hw cycles``: the datasheet estimator for a short assembly listing.

The engine is :mod:`sim.listing`; this module only parses arguments and
prints (a rich table, or one JSON object with ``--json``).
"""

from __future__ import annotations

from ..console import console as stdout_console

import json


def register(sub) -> None:
    from sim.cycles import available_cores  # the cores are whatever models are registered

    c = sub.add_parser(
        "cycles", help="run an assembly listing on one core and print each instruction's cycles",
        description="Assemble FILE.S for the core's target (GNU syntax; Intel syntax with .code16 for the "
                    "8086/8088, added when missing), run it under Unicorn from zeroed registers until it "
                    "falls off the end of .text (or reaches hlt/ebreak/bkpt, which is not counted), and "
                    "print every executed instruction with its cycles from the core's published timing "
                    "tables and the running total.")
    c.add_argument("--core", required=True, help=f"one of {', '.join(available_cores())}")
    c.add_argument("file", metavar="FILE.S", help="the listing")
    c.add_argument("--json", action="store_true",
                   help='print {"core", "total_cycles", "instructions": [{"text", "cycles"}]}')
    c.set_defaults(func=run_cycles)


def run_cycles(args) -> int:
    from sim.listing import estimate_file, render

    result = estimate_file(args.core, args.file)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0

    render(result, stdout_console())
    return 0
