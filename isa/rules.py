"""ISA rules as data: what a target admits, checked one decoded instruction at a time.

A target's rules (in its description, ``isa.targets``) are a tuple of the
rule objects below; :func:`isa.checker.violation` asks each in turn and
reports the first objection.  Each rule kind is generic — an allow-list of
mnemonics, a deny-list, "16-bit encodings except these", a register-name
ban, raw opcode bytes — so a new target states its ISA as data and writes no
checker code.  Nothing here imports capstone: a rule sees a
:class:`Decoded` instruction (address, size, mnemonic, operands, bytes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decoded:
    """One instruction as the checker decoded it."""

    address: int
    size: int
    mnemonic: str
    op_str: str
    raw: bytes

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()

    @property
    def base(self) -> str:
        """The mnemonic without a width/condition suffix after a dot (``adds.w`` → ``adds``)."""
        return self.mnemonic.split(".")[0]


@dataclass(frozen=True)
class Only:
    """Mnemonics outside ``allowed`` are refused with ``why``."""

    allowed: frozenset[str]
    why: str

    def __call__(self, insn: Decoded) -> str | None:
        return None if insn.mnemonic in self.allowed else self.why


@dataclass(frozen=True)
class Never:
    """Mnemonics in ``names`` (or, with ``base``, whose dot-less base is in ``names``) are refused."""

    names: frozenset[str]
    why: str
    base: bool = False

    def __call__(self, insn: Decoded) -> str | None:
        return self.why if (insn.base if self.base else insn.mnemonic) in self.names else None


@dataclass(frozen=True)
class NeverPrefix:
    """Mnemonics whose base starts with any of ``prefixes`` are refused (``v*``: FP/SIMD, ``it*``)."""

    prefixes: tuple[str, ...]
    why: str

    def __call__(self, insn: Decoded) -> str | None:
        return self.why if insn.base.startswith(self.prefixes) else None


@dataclass(frozen=True)
class NarrowOnly:
    """Encodings wider than ``size`` bytes are refused unless their base mnemonic is in ``wide``."""

    size: int
    wide: frozenset[str]
    why: str

    def __call__(self, insn: Decoded) -> str | None:
        return self.why if insn.size > self.size and insn.base not in self.wide else None


@dataclass(frozen=True)
class NoRegisters:
    """Instructions naming a register of a banned file (a letter prefix then a digit, or an exact name)."""

    prefixes: tuple[str, ...]
    names: frozenset[str]
    why: str

    def __call__(self, insn: Decoded) -> str | None:
        ops = insn.op_str.replace("[", " ").replace("]", " ").replace(",", " ").replace("{", " ").split()
        for op in ops:
            if op in self.names or any(op.startswith(p) and op[len(p):len(p) + 1].isdigit() for p in self.prefixes):
                return self.why
        return None


@dataclass(frozen=True)
class OpcodeBytes:
    """Raw-byte rule (x86): skip ``prefixes``, refuse ``forbidden_prefixes``, then judge the opcode byte.

    Decoding by byte is the unambiguous test on x86, where one mnemonic
    covers encodings of several processor generations.
    """

    prefixes: frozenset[int]
    forbidden_prefixes: dict[int, str]
    forbidden_opcodes: dict[int, str]

    def __call__(self, insn: Decoded) -> str | None:
        for byte in insn.raw:
            if byte in self.forbidden_prefixes:
                return self.forbidden_prefixes[byte]
            if byte not in self.prefixes:
                return self.forbidden_opcodes.get(byte)
        return "prefix without opcode"

    def __hash__(self) -> int:  # dict fields: hash by identity, the rule is a constant
        return id(self)
