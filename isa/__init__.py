"""Code generators: a kernel spec + a target → commented GNU assembly.

``isa.spec`` (what to build), ``isa.targets`` (where it runs), one generator
module per ISA family (``x86_16``, ``riscv``, ``armv6m``, ``armv7em``,
``aarch64``), ``isa.assembler`` (the ziglang clang driver) and
``isa.checker`` (capstone proof that an ELF uses only its core's ISA).
"""
