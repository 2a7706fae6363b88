"""Per-core cycle models built from published timing tables, and their registry.

Each model is a :class:`sim.cycles.base.CycleModel` in a module of this
package, cites its source table and says what it leaves out.  A module
registers its models with one line, ``MODELS = {"core": Model(...)}``; the
model's ``target`` attribute names the ``isa.targets`` target it prices.
That attribute is the one record of which cores run which target: the
registry here finds every module by itself (no list to edit) and derives
:func:`cores_for` from it, so adding a model touches its own module and its
test, nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from torus_hw.errors import TorusInputError

_NOT_MODELS = {"base"}  # modules of this package that hold no MODELS


@cache
def _registry() -> dict[str, tuple[str, object]]:
    """core name → (module name, model), over every module of this package, in module-name order."""
    out: dict[str, tuple[str, object]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_MODELS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for core, model in getattr(module, "MODELS", {}).items():
            if core in out:
                raise RuntimeError(f"core {core!r} is registered by both sim.cycles.{out[core][0]} and {info.name}")
            if model.core != core:
                raise RuntimeError(f"sim.cycles.{info.name} registers {model.core!r} under the name {core!r}")
            out[core] = (info.name, model)
    return out


def models() -> dict:
    """Every registered model, by core name."""
    return {core: model for core, (_, model) in _registry().items()}


def get_model(core: str):
    """The cycle model for ``core``; a clear error when unknown."""
    registry = _registry()
    if core not in registry:
        raise TorusInputError(f"unknown core {core!r}; choose one of {', '.join(registry)}")
    return registry[core][1]


def available_cores() -> list[str]:
    return list(_registry())


def cores_for(target: str) -> tuple[str, ...]:
    """The cores that price ``target``: its default core first, then the others in registry order."""
    from isa.targets import get_target

    default = get_target(target).default_core
    cores = [core for core, (_, model) in _registry().items() if model.target == target]
    if default not in cores:
        raise TorusInputError(f"target {target!r} names default core {default!r}, but no cycle model "
                              f"for it is registered with that target (registered: {', '.join(cores) or 'none'})")
    return (default, *(c for c in cores if c != default))


def __getattr__(name: str):
    if name == "CORE_MODULES":  # core → module, as the registry found them (read by tests)
        return {core: module for core, (module, _) in _registry().items()}
    raise AttributeError(name)
