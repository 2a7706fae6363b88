"""Per-core cycle models built from published timing tables.

Each model is a :class:`sim.cycles.base.CycleModel` in its own module, cites
its source table and says what it leaves out.  ``get_model(core)`` imports
it lazily.
"""

from __future__ import annotations

import importlib

from torus_hw.errors import TorusInputError

# core name → module in sim.cycles holding ``MODELS: dict[str, CycleModel]``
CORE_MODULES = {
    "i8086": "i8086_queue",
    "i8088": "i8086_queue",
    "i8086-datasheet": "i8086",
    "i8088-datasheet": "i8086",
    "ibex": "ibex",
    "u54": "u54",
    "cortex-m0": "cortex_m0",
    "cortex-m4": "cortex_m4",
    "cortex-a55": "cortex_a55",
}


def get_model(core: str):
    """The cycle model for ``core``; a clear error when unknown."""
    if core not in CORE_MODULES:
        raise TorusInputError(f"unknown core {core!r}; choose one of {', '.join(CORE_MODULES)}")
    module = importlib.import_module(f"sim.cycles.{CORE_MODULES[core]}")
    return module.MODELS[core]


def available_cores() -> list[str]:
    return list(CORE_MODULES)
