"""Named memory systems for the cycle models, and the one parser of ``--wait-states``.

A preset is a :class:`sim.cycles.base.WaitStates` taken from a chip's
reference manual, with what it assumes said beside it.  Every preset assumes
that the packed database, the query and the stack are in zero-wait SRAM: a
firmware that leaves the database in flash pays flash wait states on its
data loads as well (``--wait-states code=N,data=N``).  Wait states are priced
in full, with no overlap with execution (see each model's docstring), so a
preset that turns a flash accelerator off is an upper bound for that chip.

========================  ==================================================
preset                    assumes
========================  ==================================================
``zero``                  zero-wait memory for code and data: the default,
                          what every model assumed before wait states existed
``stm32f4-168mhz``        STM32F405/407 (Cortex-M4F) at HCLK = 168 MHz,
                          V_DD 2.7–3.6 V: the reference manual (RM0090,
                          section 3.5.1, "Number of wait states according to
                          CPU clock (HCLK) frequency") requires LATENCY = 5
                          wait states; the flash is read in 128-bit lines.
                          With the ART accelerator on (instruction cache of
                          64 × 128-bit lines, prefetch), a kernel loop that
                          fits in its 1 KiB is fetched at zero wait once
                          warm: that case is ``stm32f4-168mhz-art``.  This
                          preset is the accelerator off (ICEN = DCEN =
                          PRFTEN = 0): each new 16-byte line costs 5 cycles
                          (``code=5,fetch=16``).
``stm32f4-168mhz-art``    the same chip with the ART accelerator on and a
                          warm cache: the kernels' loops (well under 1 KiB
                          on the Cortex-M4) hit the instruction cache, so
                          ``code=0``; the first pass over the code, which the
                          model does not price, misses.
``stm32f0-48mhz``         STM32F0x0/F0x1 (Cortex-M0) at SYSCLK = 48 MHz:
                          RM0360/RM0091 (FLASH_ACR LATENCY) require 1 wait
                          state above 24 MHz; the flash is 32 bits wide.
                          Assumes the prefetch buffer off (PRFTBE = 0), so
                          every 32-bit fetch waits (``code=1``): an upper
                          bound; with it on, straight-line code mostly hides
                          the wait and only fetches after a jump pay it.
========================  ==================================================

The Ibex, U54 and Cortex-A55 have no preset: the Ibex is an IP core with no
one memory system (its simple system has zero-wait RAM), and the U54/A55
models assume caches that always hit, so they refuse wait states.
"""

from __future__ import annotations

import re

from torus_hw.errors import TorusInputError

from .base import NO_WAIT_STATES, WaitStates

PRESETS: dict[str, WaitStates] = {
    "zero": NO_WAIT_STATES,
    "stm32f4-168mhz": WaitStates(code=5, data=0, fetch_bytes=16),
    "stm32f4-168mhz-art": NO_WAIT_STATES,
    "stm32f0-48mhz": WaitStates(code=1, data=0, fetch_bytes=4),
}

WAIT_STATES_HELP = ("memory wait states: code=N,data=M[,fetch=BYTES] (cycles per fetch/data transfer) or a "
                    f"preset ({', '.join(PRESETS)}); default zero")

_FIELDS = {"code": "code", "data": "data", "fetch": "fetch_bytes"}
_ITEM = re.compile(r"^\s*([a-z]+)\s*=\s*(\d+)\s*$")


def add_wait_states_option(parser) -> None:
    """The one ``--wait-states`` option of ``run``, ``bench``, ``cycles`` and ``demo``."""
    parser.add_argument("--wait-states", default=None, metavar="SPEC", help=WAIT_STATES_HELP)


def parse_wait_states(text: str | None) -> WaitStates:
    """``--wait-states`` text → WaitStates: ``code=N,data=M[,fetch=B]`` or a preset name; None → zero."""
    if text is None:
        return NO_WAIT_STATES
    name = text.strip().lower()
    if name in PRESETS:
        return PRESETS[name]
    if "=" not in name:
        raise TorusInputError(f"--wait-states {text!r}: not a preset; choose one of {', '.join(PRESETS)} "
                              "or give code=N,data=M")
    values: dict[str, int] = {}
    for item in name.split(","):
        m = _ITEM.match(item)
        if m is None or m.group(1) not in _FIELDS:
            raise TorusInputError(f"--wait-states {text!r}: {item.strip()!r} is not code=N, data=N or fetch=BYTES")
        field = _FIELDS[m.group(1)]
        if field in values:
            raise TorusInputError(f"--wait-states {text!r}: {m.group(1)} given twice")
        values[field] = int(m.group(2))
    return WaitStates(**values)
