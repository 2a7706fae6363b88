"""Spec → generated assembly → image → ISA check, in one call.

``build_kernel`` is what the CLI, the harness and the tests use; the
per-family generators only ever turn a spec into text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .assembler import Image, assemble
from .checker import Decoded, check_image
from .generate import generate
from .spec import Kernel, KernelSpec
from .targets import Target, get_target


@dataclass
class BuiltKernel:
    target: Target
    kernel: Kernel
    image: Image
    decoded: list[Decoded]

    @property
    def code_bytes(self) -> int:
        return self.image.code_bytes


def build_kernel(target: Target | str, spec: KernelSpec, *, variant: str | None = None, symbol: str | None = None,
                 workdir: str | Path | None = None) -> BuiltKernel:
    target = get_target(target) if isinstance(target, str) else target
    kernel = generate(target, spec, variant, symbol=symbol)
    image = assemble(target, kernel.asm, workdir=workdir)
    decoded = check_image(target, image)
    return BuiltKernel(target, kernel, image, decoded)
