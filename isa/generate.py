"""The neutral generator core: one entry point from (target, spec, variant) to a :class:`Kernel`.

:func:`generate` validates everything once, with one message per refusal,
then hands the family module (``isa.<target.family>``) a request it can
hold.  A family module provides data and its hand-tuned code, nothing else:

``KERNELS``        the kernels it generates (a subset of :data:`isa.spec.KERNELS`)
``DIALECTS``       assembly dialects it writes (``gnu``; the 8086 also ``nasm``)
``MAX_ROW_BYTES``  the longest packed row (and query) it holds, and
``ROW_LIMIT``      why, in words (the D refusal names both)
``variants(target, spec)``  variant names for ``spec``, fastest first
``emit(target, spec, variant, symbol, dialect)``  → ``(asm, layout, notes)``

Each family's row code follows :class:`RowBody`: once-per-call set-up, the
per-row body, the registers it uses and why the variant was chosen; the
cold paths around it (k clamp, insertion, index recovery, write-out) use
the shared arithmetic here (:func:`exact_division`).
"""

from __future__ import annotations

import importlib
from typing import Protocol

from torus_hw.c_export import check_c_identifier
from torus_hw.errors import TorusInputError

from .emit import DIALECTS
from .spec import Kernel, KernelSpec, dims_limit, refuse_beyond_max_dims
from .targets import Target, get_target

class RowBody(Protocol):
    """What every hand-tuned row body provides to the kernel around it."""

    def setup(self, a) -> None:
        """Code run once per call (constants, the query in registers or a table)."""

    def body(self, a) -> None:
        """One row's distance; the row pointer ends one stride further on."""

    def plan(self) -> list[str]:
        """The registers it uses, one line each (for the file header)."""

    def why(self) -> str:
        """Why this variant: what makes it fast (or the reference)."""


def family(target: Target):
    """The generator module of ``target``'s family."""
    return importlib.import_module(f"isa.{target.family}")


def _target(target: Target | str) -> Target:
    return get_target(target) if isinstance(target, str) else target


def _family_for(target: Target, spec: KernelSpec, module: str | None = None):
    if module is not None and module != f"isa.{target.family}":
        raise TorusInputError(f"{module} generates for {_targets_of(module)}, not for target {target.name!r}")
    fam = family(target)
    if spec.kernel not in fam.KERNELS:
        raise TorusInputError(f"{target.name}: no {spec.kernel} kernel; it generates {', '.join(fam.KERNELS)}")
    return fam


def _targets_of(module: str) -> str:
    from .targets import TARGETS

    return ", ".join(t.name for t in TARGETS.values() if f"isa.{t.family}" == module)


def variants(target: Target | str, spec: KernelSpec, *, module: str | None = None) -> list[str]:
    """The variants the target's generator offers for ``spec``, fastest (the default) first."""
    target = _target(target)
    return list(_family_for(target, spec, module).variants(target, spec))


def max_dims(target: Target | str, spec: KernelSpec, *, module: str | None = None) -> int:
    """The largest D the target's generator holds for ``spec``'s bits and metric."""
    target = _target(target)
    return dims_limit(spec, _family_for(target, spec, module).MAX_ROW_BYTES)


def check_symbol(symbol: str) -> str:
    """``symbol`` if the header and the firmware can use it (one rule: :func:`torus_hw.c_export.check_c_identifier`)."""
    return check_c_identifier(symbol, "symbol")


def generate(target: Target | str, spec: KernelSpec, variant: str | None = None, *, symbol: str | None = None,
             dialect: str = "gnu", module: str | None = None) -> Kernel:
    """The kernel for ``spec`` on ``target``; refuses (one message each) what the generator does not have.

    ``module`` is set by a family module's own ``generate`` so that asking
    it for another family's target is refused.
    """
    target = _target(target)
    if not isinstance(spec, KernelSpec):
        raise TorusInputError(f"spec must be a KernelSpec, got {type(spec).__name__}")
    fam = _family_for(target, spec, module)
    if dialect not in DIALECTS or dialect not in fam.DIALECTS:
        raise TorusInputError(f"{target.name}: no {dialect!r} dialect; it writes {', '.join(fam.DIALECTS)}")
    refuse_beyond_max_dims(target.name, spec, fam.MAX_ROW_BYTES, fam.ROW_LIMIT)
    options = list(fam.variants(target, spec))
    chosen = options[0] if variant is None else variant
    if chosen not in options:
        raise TorusInputError(f"{target.name}: no variant {chosen!r} for {spec.describe()}; "
                              f"choose one of {', '.join(options)}")
    symbol = check_symbol(spec.symbol if symbol is None else symbol)
    asm, layout, notes = fam.emit(target, spec, chosen, symbol, dialect)
    return Kernel(spec=spec, target=target.name, asm=asm, layout=layout, variant=chosen, notes=list(notes),
                  symbol=symbol, dialect=dialect)


def family_entry_points(module: str):
    """``(generate, max_dims)`` for family ``module`` itself: the neutral core's, refusing another family's targets.

    A family module binds them once (``generate, max_dims = core.family_entry_points(__name__)``)
    so that asking it directly for a target it does not generate fails as loudly as
    :func:`generate` does.
    """
    def generate_for_family(target: Target | str, spec: KernelSpec, variant: str | None = None,
                            **options) -> Kernel:
        return generate(target, spec, variant, module=module, **options)

    def max_dims_for_family(target: Target | str, spec: KernelSpec) -> int:
        return max_dims(target, spec, module=module)

    return generate_for_family, max_dims_for_family


def exact_division(stride: int, word_bits: int = 32) -> tuple[int, int]:
    """(shift, inverse): i = ((x >> shift) · inverse) mod 2^word_bits for any x = i · stride.

    The row index is recovered from a row pointer's byte offset with a shift
    and a multiply instead of a divide (the stride's odd part is invertible).
    """
    shift = (stride & -stride).bit_length() - 1
    return shift, pow(stride >> shift, -1, 1 << word_bits)
