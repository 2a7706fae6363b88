"""SingleStepTests 8086 v1 (real-chip bus traces) against the BIU model: loading, running, comparing.

What it owns: reading a test (initial registers, RAM and queue; the
``cycles`` array), running its instruction under Unicorn to learn what it
did (data accesses, control transfer, the operand values), playing the
model's schedule from the test's full-queue start, and comparing the clock
count and the bus-cycle sequence with the chip's.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import unicorn
from unicorn import x86_const

from sim.cycles.i8086_biu import I8086_BUS, full_queue, run
from sim.cycles.i8086_schedule import Facts, schedule

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """``<repo>/../shared/sst8086/v1``; for a git worktree, also beside the main checkout it belongs to."""
    roots = [REPO]
    common = REPO / ".git"
    if common.is_file():  # a worktree: ".git" names the main repository's gitdir
        text = common.read_text().strip()
        if text.startswith("gitdir:"):
            roots.append(Path(text[7:].strip()).resolve().parent.parent.parent)
    for root in roots:
        candidate = root.parent / "shared" / "sst8086" / "v1"
        if candidate.is_dir():
            return candidate
    return roots[0].parent / "shared" / "sst8086" / "v1"


SHARED = _shared()
FIXTURE = REPO / "tests" / "data" / "sst8086"

_REGS = {name: getattr(x86_const, f"UC_X86_REG_{name.upper()}")
         for name in ("ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags")}


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return json.load(f)


def chip_bus(test: dict) -> str:
    """The chip's bus cycles, one letter per T1 in order (c code, r/w memory, i/o I/O)."""
    letters = {"CODE": "c", "MEMR": "r", "MEMW": "w", "IOR": "i", "IOW": "o"}
    return "".join(letters.get(c[7], "?") for c in test["cycles"] if c[8] == "T1")


_EMULATOR: list = []


def _emulator():
    """One Unicorn instance (1 MiB + the wrap-around 64 KiB) and its access log, reused across tests."""
    if not _EMULATOR:
        uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        uc.mem_map(0, 0x10_0000 + 0x1_0000)
        accesses: list = []
        uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE,
                    lambda _uc, access, address, size, value, _u: accesses.append(
                        (address, size, access == unicorn.UC_MEM_WRITE)))
        _EMULATOR.extend([uc, accesses])
    return _EMULATOR[0], _EMULATOR[1]


def _canonical_encoding(uc, start: int, raw: list[int]) -> None:
    """Rewrite ModRM reg bits the 8086 ignores (C6/C7 reg != 0, 8C/8E reg 4-7), which Unicorn refuses."""
    i = 0
    while raw[i] in (0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3):
        i += 1
    op = raw[i]
    if op in (0xC6, 0xC7, 0x8C, 0x8E) and i + 1 < len(raw):
        modrm = raw[i + 1]
        keep = 0 if op in (0xC6, 0xC7) else 3
        fixed = (modrm & 0xC7) | (((modrm >> 3) & keep) << 3)
        uc.mem_write(start + i + 1, bytes([fixed]))   # where Unicorn fetches it (past 1 MiB when CS:IP wraps)


_REG8 = ("al", "cl", "dl", "bl", "ah", "ch", "dh", "bh")
_REG16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")


def _mul_source(test: dict, accesses: list) -> int | None:
    """The multiplier of a MUL/IMUL/DIV/IDIV (F6/F7 reg 4-7): a register's value or the bytes read."""
    raw = test["bytes"]
    i = 0
    while raw[i] in (0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3):
        i += 1
    if raw[i] not in (0xF6, 0xF7) or i + 1 >= len(raw) or ((raw[i + 1] >> 3) & 7) < 4:
        return None
    modrm, word = raw[i + 1], raw[i] & 1
    regs = test["initial"]["regs"]
    if modrm >> 6 == 3:
        if word:
            return regs[_REG16[modrm & 7]]
        name = _REG8[modrm & 7]
        value = regs[name[0] + "x"]
        return value >> 8 if name[1] == "h" else value & 0xFF
    ram = dict(test["initial"]["ram"])
    reads = [a for a, size, write in accesses if not write]
    if not reads:
        return None
    address = reads[0] & 0xFFFFF
    return ram.get(address, 0) | (ram.get((address + 1) & 0xFFFFF, 0) << 8 if word else 0)


def _opcode_of(test: dict) -> int:
    raw = test["bytes"]
    i = 0
    while raw[i] in (0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3) and i + 1 < len(raw):
        i += 1
    return raw[i]


def _branches(test: dict) -> bool:
    """A conditional transfer whose condition holds (it flushes the queue even when it lands on the next byte)."""
    regs = test["initial"]["regs"]
    op, flags, cx = _opcode_of(test), regs["flags"], regs["cx"]
    cf, pf, zf, sf, of = (flags & 1), (flags >> 2) & 1, (flags >> 6) & 1, (flags >> 7) & 1, (flags >> 11) & 1
    if 0x60 <= op <= 0x7F:   # 60-6F: the 8086 decodes them as 70-7F
        base = [of, cf, zf, cf | zf, sf, pf, sf ^ of, (sf ^ of) | zf][(op & 0xF) >> 1]
        return bool(base ^ (op & 1))
    if op == 0xE2:
        return cx != 1
    if op in (0xE0, 0xE1):   # LOOPNE / LOOPE: CX - 1 != 0 and ZF clear / set
        return cx != 1 and zf == (op & 1)
    if op == 0xE3:
        return cx == 0
    return False


def observe(test: dict) -> Facts:
    """Run the test's instruction under Unicorn from its initial state; what it did."""
    init = test["initial"]
    uc, accesses = _emulator()
    accesses.clear()
    for address, value in init["ram"]:
        uc.mem_write(address, bytes([value]))
        if address < 0x1_0000:   # the 8086 wraps at 1 MiB; Unicorn does not: mirror the first 64 KiB above it
            uc.mem_write(address + 0x10_0000, bytes([value]))
    for name, value in init["regs"].items():
        uc.reg_write(_REGS[name], value)
    start = (init["regs"]["cs"] << 4) + init["regs"]["ip"]
    # The instruction as Unicorn fetches it: consecutively, where IP would wrap within CS on the chip.
    uc.mem_write(start, bytes(test["bytes"]))
    _canonical_encoding(uc, start, test["bytes"])
    uc.ctl_flush_tb()   # code bytes were rewritten: drop translations of the previous test's code
    regs = dict(init["regs"])
    length = len(test["bytes"])
    try:
        uc.emu_start(start, 0, count=1)
    except unicorn.UcError:
        pass
    regs["src"] = _mul_source(test, accesses)
    cs, ip = uc.reg_read(_REGS["cs"]), uc.reg_read(_REGS["ip"])
    after = (cs << 4) + ip
    taken = after != start + length or _branches(test)
    if 0x60 <= _opcode_of(test) <= 0x6F:   # Unicorn runs these as 186 instructions: only the condition counts
        taken = _branches(test)
    return Facts(accesses=accesses, taken=taken, target_odd=bool(ip & 1), regs=regs)


_KINDS = {"CODE": "c", "MEMR": "r", "MEMW": "w", "IOR": "i", "IOW": "o"}


def chip_cycles(test: dict) -> list[tuple[int, str]]:
    """The chip's bus cycles: (clock of T1, kind) in order, kind c code / r w memory / i o I/O."""
    return [(i, _KINDS[c[7]]) for i, c in enumerate(test["cycles"]) if c[8] == "T1"]


def model_run(test: dict, geometry=I8086_BUS):
    """(clocks, bus cycles) the model predicts for one test, bus cycles as in :func:`chip_cycles`."""
    facts = observe(test)
    steps = schedule(bytes(test["bytes"]), facts)
    state = full_queue(geometry, ip_odd=bool(test["initial"]["regs"]["ip"] & 1))
    result = run(steps, geometry, state)
    clocks = len(test["cycles"])
    return result.clocks, sorted((t1, kind) for t1, kind, _ in result.cycles if t1 < clocks)


def mismatch(test: dict) -> str | None:
    """None when the model's clock count and bus-cycle sequence equal the chip's; else what differs."""
    clocks, cycles = model_run(test)
    chip = chip_cycles(test)
    if clocks == len(test["cycles"]) and cycles == chip:
        return None
    return (f"{test['name']} ({bytes(test['bytes']).hex()}, IP {test['initial']['regs']['ip']:#06x}): "
            f"model {clocks} clocks {cycles}, chip {len(test['cycles'])} clocks {chip}")


def fixture() -> dict[str, list[dict]]:
    """The tests kept in the repository: a few of each opcode file."""
    with gzip.open(FIXTURE / "fixture.json.gz", "rt") as f:
        return json.load(f)["tests"]
