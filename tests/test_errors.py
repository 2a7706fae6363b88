"""Bad input and faults across the pipeline: one line on stderr, exit 2, nothing written.

Every case drives the real CLI (:func:`torus_hw.cli.main`) and checks the
contract the README promises: status 2, stderr exactly one line starting
``torus-hw: error:`` that names the problem, no traceback, and the input
folder (which is also where every ``--out``/``--plot`` of these cases points)
unchanged, every entry's name, size and mtime: no output created, none
half-written, no temporary file left over.  ``docs/errors.md`` lists the same cases with the messages a
real run prints.

Cases that need a kernel generator take the named target when its generator
module exists and fall back to cortex-m4 (isa/armv7em.py) when it does not, so
a missing generator never silently skips a case.  The model-side cases use
checkpoints built from untrained networks: refusing bad input must never need
training, and a guard turns any training that does start into a failure.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pytest

from isa.targets import TARGETS
from torus_hw.cli import main
from torus_hw.codes import TorusCodes
from torus_hw.errors import TorusInputError

FALLBACK = "cortex-m4"


def available(target: str) -> str:
    """``target`` if its generator module exists now, else the cortex-m4 (always present)."""
    return target if importlib.util.find_spec(f"isa.{TARGETS[target].family}") else FALLBACK


ISA_TARGETS = list(dict.fromkeys(available(t) for t in TARGETS))
FLAT_TARGETS = [t for t in ISA_TARGETS if t != "i8086"]

# --- inputs ----------------------------------------------------------------------------------

BIG_ROWS, BIG_DIMS = 40_000, 16  # 640,000 bytes: more than the 8086's 512 KiB database region


def _npz(path: Path, database, queries, bits) -> None:
    np.savez(path, database=database, queries=queries, bits=np.array(bits), format_version=np.array(1))


def _checkpoints(folder: Path) -> None:
    """Checkpoints of untrained models (no training needed to be refused) and of other kinds."""
    import torch

    from torus_hw.backbones import EmbeddingModel
    from torus_hw.data import load_dataset
    from torus_hw.train import Checkpoint, TrainSettings

    torch.set_num_threads(1)
    digits = load_dataset("digits").summary()
    cifar = {"name": "cifar10", "kind": "image", "database": 50000, "queries": 10000,
             "input_shape": [3, 32, 32], "classes": 10}

    def save(name, summary=digits, weights_dim=None, **settings):
        s = TrainSettings(width=16, **settings)
        model = EmbeddingModel(kind=summary["kind"], input_shape=tuple(summary["input_shape"]), mode=s.mode,
                               dim=weights_dim or s.dim, width=s.width)
        Checkpoint(s, {k: v.clone() for k, v in model.state_dict().items()}, summary).save(folder / name)

    save("torusN.pt", mode="torusN", dim=8)
    save("sphere.pt", mode="sphere", dim=8)
    save("weights-of-another-model.pt", mode="torusN", dim=8, weights_dim=12)
    save("cifar10.pt", summary=cifar, mode="torusN", dim=8, data="cifar10")
    data = (folder / "torusN.pt").read_bytes()
    (folder / "corrupt.pt").write_bytes(data[: len(data) // 2])
    torch.save({"kind": "other/thing", "format_version": 1}, folder / "other-kind.pt")
    odd = torch.load(folder / "torusN.pt", weights_only=True)
    odd["settings"]["dim"] = 7
    torch.save(odd, folder / "odd-dim.pt")


def make_inputs(folder: Path) -> Path:
    """Write every bad (and the few good) input the cases name into ``folder``."""
    rng = np.random.default_rng(0)
    u8 = lambda *shape: rng.integers(0, 256, shape).astype(np.uint8)  # noqa: E731
    TorusCodes(database=u8(20, 8), queries=u8(2, 8), bits=8).save(folder / "codes.npz")
    data = (folder / "codes.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    (folder / "text.npz").write_text("not a zip\n")
    np.save(folder / "array.npy", u8(20, 8))
    (folder / "array.npy").rename(folder / "npy-not-npz.npz")
    corrupt = bytearray(data)
    corrupt[100:400] = bytes(b ^ 0x5A for b in corrupt[100:400])  # the zip directory is intact, a member is not
    (folder / "corrupt-member.npz").write_bytes(corrupt)
    _npz(folder / "int32.npz", u8(20, 8).astype(np.int32), u8(2, 8).astype(np.int32), 8)
    _npz(folder / "uint8-for-16-bits.npz", u8(20, 8), u8(2, 8), 16)
    _npz(folder / "rank1.npz", u8(20), u8(2, 8), 8)
    _npz(folder / "dims-differ.npz", u8(20, 8), u8(2, 6), 8)
    _npz(folder / "bits7.npz", u8(20, 8), u8(2, 8), 7)
    too_big = u8(20, 8) & 15
    too_big[3, 5] = 16
    _npz(folder / "value-16-at-4-bits.npz", too_big, u8(2, 8) & 15, 4)
    _npz(folder / "l2-16bit-D4.npz", np.zeros((5, 4), np.uint16), np.zeros((2, 4), np.uint16), 16)
    TorusCodes(database=u8(BIG_ROWS, BIG_DIMS), queries=u8(1, BIG_DIMS), bits=8).save(folder / "big.npz")
    _npz(folder / "format-version-text.npz", u8(20, 8), u8(2, 8), 8)
    with np.load(folder / "format-version-text.npz") as npz:
        fields = dict(npz)
    np.savez(folder / "format-version-text.npz", **{**fields, "format_version": np.array("one")})
    (folder / "folder.npz").mkdir()
    (folder / "folder.S").mkdir()
    (folder / "bad.S").write_text("bogus r0\n")
    (folder / "binary.S").write_bytes(b"\xff\xfe\x00")
    (folder / "i386.S").write_text("movzx ax, bl\n")
    (folder / "fault.S").write_text("movs r1, #0\nsubs r1, #1\nldr r0, [r1]\n")
    (folder / "rept.S").write_text(".rept 5000000\nnop\n.endr\n")
    (folder / "space.S").write_text(".space 500000\n")
    (folder / "big-code.S").write_text(".rept 40000\nadd ax, bx\n.endr\n")
    (folder / "svc.S").write_text("movs r0, #1\nsvc #0\nadds r0, #1\n")
    (folder / "wfi.S").write_text("movs r0, #1\nwfi\nadds r0, #1\n")
    (folder / "rep-movsb.S").write_text("mov cx, 2\n.byte 0xf3, 0xa4\n")
    _checkpoints(folder)
    return folder


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    return make_inputs(tmp_path_factory.mktemp("bad-inputs"))


# --- patches some cases need ----------------------------------------------------------------


def _yowasp_missing(monkeypatch) -> None:
    """rtl/synth.py finds the tools with importlib.util.find_spec: make the YoWASP packages vanish."""
    import rtl.synth

    real = importlib.util.find_spec
    monkeypatch.setattr(rtl.synth.importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("yowasp") else real(name, *a))


def _database_pointer_faults(monkeypatch) -> None:
    """Hand the real kernel a database pointer into unmapped memory, so its first row load faults."""
    from sim.runner import KernelRunner

    call = KernelRunner.call

    def faulting(self, query, **params):
        self.region = dataclasses.replace(self.region, db=0x3000_0000)
        return call(self, query, **params)

    monkeypatch.setattr(KernelRunner, "call", faulting)


def _small_flat_memory(monkeypatch) -> None:
    """Only when isa/x86_16.py is missing: give cortex-m4 the 8086's 512 KiB database region instead."""
    import sim.machine as machine

    monkeypatch.setattr(machine, "FLAT", dataclasses.replace(machine.FLAT, db_end=machine.FLAT.db + 512 * 1024))


def _no_training(monkeypatch) -> None:
    """Training starts by building the model; a case that gets there was not refused up front."""
    import torus_hw.train

    def refuse(*_):
        raise TorusInputError("training started: the bad input was not refused before training")

    monkeypatch.setattr(torus_hw.train, "_build_model", refuse)


# --- the cases ----------------------------------------------------------------------------


class Case(NamedTuple):
    argv: list[str]
    expect: tuple[str, ...]           # every one of these is in the message
    patch: Callable | None = None


def case(id, argv, *expect, patch=None, marks=()):
    return pytest.param(Case(argv.split(), expect, patch), id=id, marks=marks)


M4 = FALLBACK
I86 = available("i8086")
BIG_DB_PATCH = None if I86 == "i8086" else _small_flat_memory
CASES = [
    # search: the codes file
    case("search-codes-truncated", "search --codes truncated.npz", "truncated.npz", "not a readable .npz"),
    case("search-codes-not-npz", "search --codes text.npz", "text.npz", "not a readable .npz"),
    case("search-codes-npy-not-npz", "search --codes npy-not-npz.npz", "npy-not-npz.npz", "not a readable .npz"),
    case("search-codes-corrupt-member", "search --codes corrupt-member.npz", "corrupt-member.npz",
         "not a readable .npz"),
    case("search-codes-missing", "search --codes missing.npz", "missing.npz", "does not exist"),
    case("search-codes-is-folder", "search --codes folder.npz", "folder.npz", "is a folder"),
    case("search-codes-dtype", "search --codes int32.npz", "'database'", "must be uint8", "int32"),
    case("search-codes-dtype-16", "search --codes uint8-for-16-bits.npz", "must be uint16 for bits=16", "uint8"),
    case("search-codes-shape", "search --codes rank1.npz", "'database'", "rank 2", "(20,)"),
    case("search-codes-dims-differ", "search --codes dims-differ.npz", "'queries' has D=6", "D=8"),
    case("search-codes-bits", "search --codes bits7.npz", "'bits'", "1, 4, 8, 16", "got 7"),
    case("search-codes-format-version-text", "search --codes format-version-text.npz", "'format_version' must be 1"),
    case("search-codes-value-ge-2^bits", "search --codes value-16-at-4-bits.npz", "holds 16", "2^4"),
    case("search-l2-16bit-D4-beyond-uint32", "search --codes l2-16bit-D4.npz --metric l2", "D=4", "16-bit l2",
         "uint32", "at most D=3"),
    case("search-k0", "search --codes codes.npz --k 0", "--k must be at least 1"),
    case("search-metric", "search --codes codes.npz --metric cos", "--metric", "invalid choice"),
    # run: ISA targets
    case("run-unknown-target", "run --target z80 --codes codes.npz", "unknown target 'z80'"),
    case("run-unknown-core", f"run --target {M4} --codes codes.npz --core z80", "core 'z80'", M4),
    case("run-codes-truncated", f"run --target {M4} --codes truncated.npz", "not a readable .npz"),
    case("run-codes-value-ge-2^bits", f"run --target {M4} --codes value-16-at-4-bits.npz", "holds 16", "2^4"),
    case("run-codes-dtype", f"run --target {M4} --codes int32.npz", "must be uint8", "int32"),
    case("run-k17", f"run --target {M4} --codes codes.npz --k 17", "k must be between 1 and 16", "17"),
    case("run-metric", f"run --target {M4} --codes codes.npz --metric l3", "metric", "'l3'"),
    case("run-unknown-variant", f"run --target {M4} --codes codes.npz --variant nope", "variant 'nope'"),
    case("run-queries0", f"run --target {M4} --codes codes.npz --queries 0", "--queries must be at least 1"),
    case("run-lanes-on-isa-target", f"run --target {M4} --codes codes.npz --lanes 4", "--lanes", "rtl only"),
    case("run-l2-16bit-D4-beyond-uint32", f"run --target {M4} --codes l2-16bit-D4.npz --metric l2", "D=4",
         "uint32"),
    case("run-db-too-large", f"run --target {I86} --codes big.npz", f"database of {BIG_ROWS * BIG_DIMS} bytes",
         f"does not fit the {I86} address space", "524288", patch=BIG_DB_PATCH),
    *[case(f"run-emulator-fault-{t}", f"run --target {t} --codes codes.npz", f"{t}: emulator fault at pc=0x",
           "UC_ERR_READ_UNMAPPED", patch=_database_pointer_faults) for t in FLAT_TARGETS],
    # run: the RTL unit
    case("run-rtl-codes-truncated", "run --target rtl --codes truncated.npz", "not a readable .npz"),
    case("run-rtl-k17", "run --target rtl --codes codes.npz --k 17", "k must be", "16", "17"),
    case("run-rtl-lanes0", "run --target rtl --codes codes.npz --lanes 0", "lanes must be", "got 0"),
    case("run-rtl-value-ge-2^bits", "run --target rtl --codes value-16-at-4-bits.npz", "holds 16", "2^4"),
    # gen
    case("gen-unknown-target", "gen --target z80 --kernel search --dims 8 --out kernel-out", "unknown target 'z80'"),
    case("gen-unknown-kernel", f"gen --target {M4} --kernel sort --dims 8 --out kernel-out", "kernel must be",
         "'sort'"),
    case("gen-k17", f"gen --target {M4} --kernel search --dims 8 --k 17 --out kernel-out",
         "k must be between 1 and 16"),
    case("gen-bits7", f"gen --target {M4} --kernel search --dims 8 --bits 7 --out kernel-out", "bits must be one of",
         "got 7"),
    case("gen-metric", f"gen --target {M4} --kernel search --dims 8 --metric cos --out kernel-out", "metric", "'cos'"),
    case("gen-dims0", f"gen --target {M4} --kernel search --dims 0 --out kernel-out",
         "dims must be a positive integer"),
    *[case(f"gen-l2-16bit-D4-{t}", f"gen --target {t} --kernel search --bits 16 --metric l2 --dims 4 --out kernel-out",
           t, "D=4", "uint32", "3") for t in ISA_TARGETS],
    case("gen-dims-too-large", f"gen --target {I86} --kernel search --dims 1000000 --out kernel-out", I86,
         "D=1000000", "max_dims"),
    case("gen-unknown-variant", f"gen --target {M4} --kernel search --dims 8 --variant nope --out kernel-out",
         "variant 'nope'"),
    case("gen-out-is-a-file", f"gen --target {M4} --kernel search --dims 8 --out codes.npz", "--out codes.npz",
         "not a folder"),
    # cycles
    case("cycles-unknown-core", "cycles --core z80 bad.S", "unknown core 'z80'"),
    case("cycles-missing-file", f"cycles --core {M4} missing.S", "missing.S"),
    case("cycles-file-is-folder", f"cycles --core {M4} folder.S", "folder.S", "is a folder"),
    case("cycles-not-text", f"cycles --core {M4} binary.S", "binary.S", "not a text file"),
    case("cycles-assembler-error", f"cycles --core {M4} bad.S", "bad.S:1", "error"),
    case("cycles-outside-the-isa", "cycles --core i8086 i386.S", "movzx ax, bl", "i386.S line 1", "not allowed"),
    case("cycles-emulator-fault", f"cycles --core {M4} fault.S", f"{M4}:", "0x10004", "ldr r0, [r1]",
         "fault.S line 3", "UC_ERR_READ_UNMAPPED"),
    case("cycles-rept-too-large", "cycles --core i8086 rept.S", "rept.S line 1", ".rept 5,000,000",
         "at most 65,536 bytes of code"),
    case("cycles-space-too-large", "cycles --core i8086 space.S", "space.S line 1", ".space 500,000"),
    case("cycles-code-too-large", "cycles --core i8086 big-code.S", "assembles to 80,000 bytes of code"),
    case("cycles-svc", "cycles --core cortex-m0 svc.S", "(svc #0)", "svc.S line 2", "interrupt/exception 2"),
    case("cycles-wfi", "cycles --core cortex-m0 wfi.S", "(wfi)", "wfi.S line 2", "halted"),
    case("cycles-unscheduled", "cycles --core i8086 rep-movsb.S", "i8086:", "REP MOVS/CMPS/SCAS are not scheduled",
         "-datasheet cores price them"),
    # bench
    case("bench-unknown-target", "bench --targets z80 --dims 8", "unknown target 'z80'"),
    case("bench-dims0", f"bench --targets {M4} --dims 0", "dims must be a positive integer"),
    case("bench-rows0", f"bench --targets {M4} --dims 8 --rows 0", "--rows and --queries must be at least 1"),
    case("bench-dims-too-large", f"bench --targets {I86} --dims 1000000 --rows 10 --queries 1", "D=1000000"),
    case("bench-db-too-large", f"bench --targets {I86} --dims {BIG_DIMS} --rows {BIG_ROWS} --queries 1",
         f"database of {BIG_ROWS * BIG_DIMS} bytes", "does not fit", patch=BIG_DB_PATCH),
    case("bench-plot-folder-missing", f"bench --targets {M4} --dims 8 --plot no-such-folder/plot.png",
         "folder no-such-folder does not exist"),
    case("bench-plot-is-a-folder", f"bench --targets {M4} --dims 8 --plot folder.npz", "folder.npz", "is a folder"),
    # rtl
    case("rtl-lanes0", "rtl --lanes 0 --bits 8 --dims 8 --out rtl-out", "lanes must be", "got 0"),
    case("rtl-bits7", "rtl --lanes 4 --bits 7 --dims 8 --out rtl-out", "bits must be one of", "got 7"),
    case("rtl-k17", "rtl --lanes 4 --bits 8 --dims 8 --k 17 --out rtl-out", "k must be", "got 17"),
    case("rtl-l2-16bit-D4-beyond-uint32", "rtl --lanes 4 --bits 16 --metric l2 --dims 4 --out rtl-out", "D=4",
         "uint32", "at most D=3"),
    case("rtl-adder-stages", "rtl --lanes 4 --bits 8 --dims 8 --adder-stages 9 --out rtl-out", "adder_stages"),
    case("rtl-out-is-a-file", "rtl --lanes 4 --bits 8 --dims 8 --out codes.npz", "--out codes.npz", "not a folder"),
    case("rtl-synth-yowasp-missing", "rtl --lanes 4 --bits 8 --dims 8 --out rtl-out --synth ice40",
         "YoWASP", "make synth-deps", patch=_yowasp_missing),
    # train: every refusal comes before training
    case("train-odd-dim-torusN", "train --mode torusN --dim 7 --out model.pt", "torusN needs an even dim", "7",
         patch=_no_training),
    case("train-unknown-mode", "train --mode cube --out model.pt", "mode must be one of", "'cube'",
         patch=_no_training),
    case("train-unknown-data", "train --data mnist --out model.pt", "data must be one of", "'mnist'",
         patch=_no_training),
    case("train-data-npy-not-npz", "train --data npy-not-npz.npz --out model.pt", "npy-not-npz.npz",
         "not a readable .npz", patch=_no_training),
    case("train-data-corrupt-member", "train --data corrupt-member.npz --out model.pt", "corrupt-member.npz",
         "has no 'x' array", patch=_no_training),
    case("train-epochs0", "train --epochs 0 --out model.pt", "epochs must be", "got 0", patch=_no_training),
    case("train-cifar-folder-missing", "train --data cifar10 --data-root no-such-folder --out model.pt",
         "no-such-folder/cifar-10-batches-py", "nothing is downloaded", patch=_no_training),
    case("train-out-folder-missing", "train --out no-such-folder/model.pt", "folder no-such-folder does not exist",
         patch=_no_training),
    case("train-out-is-a-folder", "train --out folder.npz", "folder.npz", "is a folder", patch=_no_training),
    case("train-unknown-device", "train --device foo --out model.pt", "--device", "'foo'", patch=_no_training),
    # demo: only its output folder is input
    case("demo-out-is-a-file", "demo --quick --out codes.npz", "codes.npz"),
    # export
    case("export-checkpoint-corrupt", "export --model corrupt.pt --out out.npz", "corrupt.pt",
         "not a readable torch checkpoint"),
    case("export-checkpoint-is-codes", "export --model codes.npz --out out.npz", "codes.npz",
         "not a readable torch checkpoint"),
    case("export-checkpoint-other-kind", "export --model other-kind.pt --out out.npz", "other-kind.pt",
         "not a torus-hw model checkpoint", "'other/thing'"),
    case("export-checkpoint-missing", "export --model missing.pt --out out.npz", "missing.pt", "does not exist"),
    case("export-checkpoint-weights-of-another-model", "export --model weights-of-another-model.pt --out out.npz",
         "weights-of-another-model.pt", "weights do not fit its settings"),
    case("export-checkpoint-odd-dim-torusN", "export --model odd-dim.pt --out out.npz", "odd-dim.pt",
         "torusN needs an even dim"),
    case("export-sphere-mode-fixed-grid", "export --model sphere.pt --grid fixed --bits 8 --out out.npz",
         "sphere has no fixed flat-torus grid"),
    case("export-bits7", "export --model torusN.pt --bits 7 --out out.npz", "--bits", "invalid choice: 7"),
    case("export-cifar-folder-missing", "export --model cifar10.pt --data-root no-such-folder --out out.npz",
         "no-such-folder/cifar-10-batches-py"),
    case("export-out-is-a-folder", "export --model torusN.pt --out folder.npz", "folder.npz", "is a folder"),
    case("export-out-folder-missing", "export --model torusN.pt --out no-such-folder/out.npz",
         "folder no-such-folder does not exist"),
    # evaluate
    case("evaluate-checkpoint-corrupt", "evaluate --model corrupt.pt", "corrupt.pt", "not a readable torch checkpoint"),
    case("evaluate-checkpoint-other-kind", "evaluate --model other-kind.pt", "not a torus-hw model checkpoint"),
    case("evaluate-checkpoint-odd-dim-torusN", "evaluate --model odd-dim.pt", "torusN needs an even dim"),
    case("evaluate-sphere-mode-fixed-grid", "evaluate --model sphere.pt --grid fixed --bits 8",
         "sphere has no fixed flat-torus grid"),
    case("evaluate-bits3", "evaluate --model torusN.pt --bits 3", "--bits", "invalid choice: 3"),
    case("evaluate-pq-syntax", "evaluate --model torusN.pt --pq 3,x", "--pq takes M,NBITS", "'3,x'"),
    case("evaluate-pq-m-not-dividing", "evaluate --model torusN.pt --bits 8 --pq 3,8", "PQ(3,8)", "dividing"),
    case("evaluate-cifar-folder-missing", "evaluate --model cifar10.pt --data-root no-such-folder",
         "no-such-folder/cifar-10-batches-py"),
]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def run_case(c: Case, folder: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    if c.patch:
        c.patch(monkeypatch)
    status = main(c.argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("c", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(c, inputs, monkeypatch, capsys):
    before = snapshot(inputs)
    status, err = run_case(c, inputs, monkeypatch, capsys)
    assert "Traceback" not in err
    assert status == 2, err
    assert err.startswith("torus-hw: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    message = err[len("torus-hw: error: "):].strip()
    for part in c.expect:
        assert part in message, f"{part!r} not in {message!r}"
    assert snapshot(inputs) == before, "an output was created or changed"


@pytest.mark.parametrize("target", FLAT_TARGETS)
def test_emulator_fault_in_run_names_the_load_that_faulted(target, inputs, monkeypatch, capsys):
    """The fault message of ``torus-hw run`` names target, PC and the (load) instruction at the PC."""
    status, err = run_case(Case(["run", "--target", target, "--codes", "codes.npz"], (), _database_pointer_faults),
                           inputs, monkeypatch, capsys)
    assert status == 2
    m = re.fullmatch(rf"torus-hw: error: {re.escape(target)}: emulator fault at pc=0x([0-9a-f]+) \((\S+) (.+)\): "
                     r"Invalid memory read \(UC_ERR_READ_UNMAPPED\)\n", err)
    assert m, err
    assert int(m.group(1), 16) >= TARGETS[target].link_base
    assert m.group(2).startswith("l"), f"{m.group(2)!r} is not a load (ldr/ldm/lw/ld…)"


@pytest.mark.parametrize("target, body, insn, why", [
    ("i8086", " .byte 0x0f, 0x0b", "ud2", "UC_ERR_INSN_INVALID"),
    ("rv32im", " lw a0, 0(a0)\n ret", "lw a0, 0(a0)", "UC_ERR_READ_UNMAPPED"),
    ("rv64im", " ld a0, 0(a0)\n ret", "ld a0, 0(a0)", "UC_ERR_READ_UNMAPPED"),
    ("cortex-m0", " ldr r0, [r0]\n bx lr", "ldr r0, [r0]", "UC_ERR_READ_UNMAPPED"),
    ("cortex-m4", " udf #0", "udf #0", "UC_ERR_INSN_INVALID"),
    ("aarch64", " ldr x0, [x0]\n ret", "ldr x0, [x0]", "UC_ERR_READ_UNMAPPED"),
])
def test_emulator_fault_names_target_pc_and_instruction(target, body, insn, why):
    """The harness itself (no generator needed): a kernel whose database pointer (or opcode) faults."""
    from isa.assembler import assemble
    from isa.targets import get_target
    from sim.machine import EmulatorFault, Machine

    t = get_target(target)
    image = assemble(t, f".text\n.globl torus_distance\ntorus_distance:\n{body}\n")
    with pytest.raises(EmulatorFault) as info:
        Machine(t, image, count=False).call("torus_distance", [("ptr", 0x0F00_0000 if target != "i8086" else 0),
                                                               ("ptr", 0)])
    message = str(info.value)
    assert message.startswith(f"{target}: emulator fault at pc=0x10000 ({insn}): ") and why in message
    assert "\n" not in message
