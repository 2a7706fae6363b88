"""The one assembly emitter every generator writes through: lines, labels, comments, directives.

A :class:`Style` fixes how a family lays its text out (comment marker, the
instruction column, how far a label's comment is indented) and the *dialect*
the text is written in.  ``gnu`` is what ziglang clang assembles for every
target; ``nasm`` is the NASM syntax of the same 8086 instructions (for
firmware built with NASM): the generator still writes GNU/Intel operands and
the dialect rewrites memory operands, size keywords, segment overrides, data
and section directives, so one generator serves both and NASM assembles the
same bytes (tests/test_contract.py checks that when nasm is installed).

:class:`Asm` collects the lines; families subclass it only to add ISA
helpers (constants without literal pools, far conditional branches), never
to change the layout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import KernelSpec, RowLayout
    from .targets import Target

DIALECTS = ("gnu", "nasm")


@dataclass(frozen=True)
class Style:
    comment: str                # the line-comment marker of the family's GNU text
    column: int                 # instructions are padded to this width before a comment
    gap: str = ""               # between the padded instruction and the comment marker
    label_pad: int = 20         # spaces between "label:" and its comment
    dialect: str = "gnu"
    # The ELF function around the kernel, "{symbol}" filled in: directives before its label, after its code.
    function_entry: tuple[str, ...] = (".text", ".globl {symbol}")
    function_exit: tuple[str, ...] = ()
    directive_indent: str = ""  # how far the function's directives are indented

    def with_dialect(self, dialect: str) -> "Style":
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
        return replace(self, dialect=dialect, comment=";" if dialect == "nasm" else self.comment)

    def insn(self, text: str, comment: str | None = None) -> str:
        text = self._text(text)
        return f"    {text:<{self.column}}{self.gap}{self.comment} {comment}" if comment else f"    {text}"

    def label(self, name: str, comment: str | None = None) -> str:
        return f"{name}:" + (f"{'':<{self.label_pad}}{self.comment} {comment}" if comment else "")

    def note(self, text: str) -> str:
        return f"    {self.comment} {text}"

    def header(self, text: str) -> str:
        """A comment line at the left margin (file headers)."""
        return f"{self.comment} {text}" if text else self.comment

    def _text(self, text: str) -> str:
        return _nasm(text) if self.dialect == "nasm" else text


class Asm:
    """Lines of assembly in one :class:`Style`; ``count`` is the instructions emitted (branch-reach estimates)."""

    def __init__(self, style: Style, lines: list[str] | None = None) -> None:
        self.style = style
        self.lines: list[str] = [] if lines is None else lines
        self.count = 0

    def __call__(self, text: str, comment: str | None = None) -> None:
        self.count += 1
        self.lines.append(self.style.insn(text, comment))

    op = __call__

    def label(self, name: str, comment: str | None = None) -> None:
        self.lines.append(self.style.label(name, comment))

    def note(self, text: str) -> None:
        self.lines.append(self.style.note(text))

    def header(self, text: str) -> None:
        self.lines.append(self.style.header(text))

    def directive(self, text: str, comment: str | None = None, column: int | None = None) -> None:
        """An indented directive in the dialect; a comment starts at ``column`` (or one space after)."""
        line = f"    {self.style._text(text)}"
        if comment:
            line = f"{line:<{column or 0}}{'' if column else ' '}{self.style.comment} {comment}"
        self.lines.append(line)

    def begin_function(self, symbol: str) -> None:
        """The style's entry directives and the global label the harness and firmware call."""
        for text in self.style.function_entry:
            self.lines.append(self.style.directive_indent + self.style._text(text.format(symbol=symbol)))
        self.lines.append(f"{symbol}:")

    def end_function(self, symbol: str) -> None:
        """The style's exit directives (``.size``: debuggers and ``nm -S`` see the function's extent)."""
        for text in self.style.function_exit:
            self.lines.append(self.style.directive_indent + self.style._text(text.format(symbol=symbol)))

    def blank(self) -> None:
        self.lines.append("")

    def extend(self, other: "Asm") -> None:
        self.lines.extend(other.lines)
        self.count += other.count

    def text(self) -> str:
        lines = _nasm_numeric_labels(self.lines) if self.style.dialect == "nasm" else self.lines
        return "\n".join(lines) + "\n"


# --- the header every generated file starts with -----------------------------------

SEMANTICS = ("semantics: torus_hw.reference: per dim t = min(d, 2^n - d) with d = (q - r) mod 2^n;",
             "           l1 = sum of t, l2 = sum of t^2; ranking by (distance, row): ties go to the lower row")


def kernel_header(style: Style, *, target: "Target", spec: "KernelSpec", variant: str, options, why: str,
                  prototype: str, layout: "RowLayout", plan=(), notes=()) -> list[str]:
    """The comment block at the top of every kernel file: the same fields, in the same order, on every target.

    ``plan`` is the register plan (one line per register or group), ``notes``
    anything else the reader of this variant needs (frame map, loop shape,
    bounds); both come from the family's row body and kernel code.
    """
    options = list(options)
    default = "the default" if variant == options[0] else "not the default"
    proto = prototype.splitlines()
    lines = [f"torus-hw kernel: {spec.describe()} for {target.name} ({target.description})",
             f"variant: {variant} ({default}; the target offers {', '.join(options)})",
             f"why: {why}",
             f"prototype: {proto[0]}", *(f"{'':11}{line}" for line in proto[1:]),
             f"row layout: {layout.stride}-byte stride, {layout.align}-byte aligned; padding dims are 0 in the "
             "query and the rows (they add 0)",
             *SEMANTICS,
             "register plan:", *(f"  {line}" for line in plan)]
    if notes:
        lines += ["notes:", *(f"  {line}" for line in notes)]
    return [style.header(line) for line in lines]


# --- NASM: the 8086 text in NASM's syntax ------------------------------------------

_SEG_MEM = re.compile(r"\b([cdes]s):\[")
_SIZE = re.compile(r"\b(byte|word|dword) ptr ")
_DIRECTIVES = [
    (re.compile(r"^\.byte 0xc3$"), "ret"),   # NASM's ret is the 1-byte C3 (clang's needs the .byte)
    (re.compile(r"^\.byte "), "db "),
    (re.compile(r"^\.word "), "dw "),
    (re.compile(r"^\.balign (\d+)$"), r"align \1, db 0"),
    (re.compile(r"^\.text$"), "section .text"),
    (re.compile(r"^\.section \.rodata$"), "section .rodata"),
    (re.compile(r"^\.globl "), "global "),
    (re.compile(r"^xlat$"), "xlatb"),
    (re.compile(r"^cs: xlat$"), "cs xlatb"),
]


_NUMERIC_DEF = re.compile(r"^(\s*)(\d+):")
_NUMERIC_REF = re.compile(r"^(\s*(?:j\w+|loop\w*)\s+)(\d+)([fb])\b")


def _nasm_numeric_labels(lines: list[str]) -> list[str]:
    """GNU's numeric local labels (``1:``, ``jns 1f``) as unique NASM labels."""
    defs = [(i, m.group(2)) for i, line in enumerate(lines) if (m := _NUMERIC_DEF.match(line))]
    name = {i: f".Lnum{n}_{j}" for j, (i, n) in enumerate(defs)}
    out = []
    for i, line in enumerate(lines):
        if i in name:
            line = _NUMERIC_DEF.sub(lambda m: f"{m.group(1)}{name[i]}:", line)
        elif m := _NUMERIC_REF.match(line):
            n, way = m.group(2), m.group(3)
            hits = [d for d, num in defs if num == n and (d > i if way == "f" else d < i)]
            target = name[hits[0] if way == "f" else hits[-1]]
            line = f"{m.group(1)}{target}{line[m.end():]}"
        out.append(line)
    return out


def _nasm(text: str) -> str:
    """One GNU/Intel-syntax 8086 instruction or directive in NASM syntax."""
    for pattern, repl in _DIRECTIVES:
        if pattern.search(text):
            return pattern.sub(repl, text)
    text = _SEG_MEM.sub(r"[\1:", text)          # es:[di+4] -> [es:di+4]
    text = text.replace("dword ptr ", "")      # LES/LDS take their far pointer operand unsized
    text = text.replace("offset ", "")         # NASM: a bare label is its address
    return _SIZE.sub(r"\1 ", text)
