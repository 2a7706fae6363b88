"""The hostile-input suite (issue 14): every attack and careless input, by name, plus fuzzing.

Each case of :data:`CASES` runs the real CLI (``torus_hw.cli.main``) in a
folder of planted inputs (:func:`make_hostile_inputs`) and asserts exit 2,
exactly the one-line message given here, no traceback, and the folder
unchanged (nothing created, nothing half-written, no temporary left).  The
same messages are in docs/errors.md ("Hostile input"); :func:`test_docs_mirror`
fails when the two drift apart, and ``python tests/test_hostile.py`` prints the
table rows from a real run.

Cases marked *unprivileged* run in a forked child that drops root (to
``nobody``), because root reads and writes through any permission bits.

The fuzz tests mutate valid codes files and checkpoints at random (bytes and
structure); every mutant must give exit 0 with the right answer (checked
against an independent brute-force search over NumPy's own reading of the
file) or exit 2 with one line — never a traceback, another status, or a
hang.  Their size follows the hypothesis profile (``ci``: 40 examples each;
``long``: 600, ``make test-long``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import pickle
import shutil
import stat
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from torus_hw.cli import main
from torus_hw.codes import TorusCodes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "errors.md"
BOMB_MIB = 16


def _load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def _codes_members(folder: Path, name: str, members: dict[str, bytes | np.ndarray]) -> None:
    """A zip written member by member: arrays as .npy, bytes as they are."""
    with zipfile.ZipFile(folder / name, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, value in members.items():
            if isinstance(value, np.ndarray):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, value)
                value = buf.getvalue()
            zf.writestr(member, value)


def _valid_members(rng) -> dict[str, np.ndarray]:
    return {"database.npy": rng.integers(0, 256, (20, 8)).astype(np.uint8),
            "queries.npy": rng.integers(0, 256, (2, 8)).astype(np.uint8),
            "bits.npy": np.array(8, np.int64), "format_version.npy": np.array(1, np.int64)}


def _checkpoint(folder: Path, name: str, *, edit=None, **settings) -> None:
    import torch

    from torus_hw.backbones import EmbeddingModel
    from torus_hw.data import load_dataset
    from torus_hw.train import Checkpoint, TrainSettings

    torch.manual_seed(0)
    summary = settings.pop("summary", None) or load_dataset("digits").summary()
    s = TrainSettings(width=16, mode="torusN", dim=8, **settings)
    model = EmbeddingModel(kind=summary["kind"], input_shape=tuple(summary["input_shape"]), mode=s.mode, dim=s.dim,
                           width=s.width)
    obj = Checkpoint(s, {k: v.clone() for k, v in model.state_dict().items()}, summary).to_dict()
    if edit:
        edit(obj)
    torch.save(obj, folder / name)


def make_hostile_inputs(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    TorusCodes(database=rng.integers(0, 256, (20, 8)).astype(np.uint8),
               queries=rng.integers(0, 256, (2, 8)).astype(np.uint8), bits=8).save(folder / "codes.npz")
    # codes files that once gave tracebacks
    _codes_members(folder, "raw-format-version.npz", {**_valid_members(rng), "format_version.npy": b"\x01"})
    _codes_members(folder, "raw-bits.npz", {**_valid_members(rng), "bits.npy": b"8"})
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (2**40, 8)})
    _codes_members(folder, "header-claims-8-tib.npz",
                   {**_valid_members(rng), "database.npy": header.getvalue() + bytes(992 - len(header.getvalue()))})
    _codes_members(folder, "deep-json-source.npz",
                   {**_valid_members(rng), "source.npy": np.array("[" * 100_000 + "]" * 100_000)})
    _codes_members(folder, "object-array.npz", {**_valid_members(rng), "database.npy": b"\x93NUMPY\x01\x00v\x00"
                   + b"{'descr': '|O', 'fortran_order': False, 'shape': (2, 8), }".ljust(117) + b"\n"})
    _load_benchmark("reference_memory").write_zip_bomb(str(folder / "zip-bomb.npz"), BOMB_MIB, 64, 2)
    # checkpoints
    _checkpoint(folder, "torusN.pt")
    _checkpoint(folder, "settings-ask-40gb.pt", edit=lambda o: o["settings"].update(width=100_000))

    def nan_weight(o):
        o["state_dict"]["head.2.weight"][0, 0] = float("nan")

    def overflowing(o):
        o["state_dict"]["head.2.weight"].fill_(3e38)

    _checkpoint(folder, "nan-weight.pt", edit=nan_weight)
    _checkpoint(folder, "overflowing-weights.pt", edit=overflowing)
    cifar = {"name": "cifar10", "kind": "image", "database": 50000, "queries": 10000, "input_shape": [3, 32, 32],
             "classes": 10}
    _checkpoint(folder, "cifar10.pt", summary=cifar, data="cifar10")
    # a planted CIFAR data root: the first batch runs `touch PWNED` under pickle.load
    planted = folder / "planted" / "cifar-10-batches-py"
    planted.mkdir(parents=True)
    for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (planted / batch).write_bytes(pickle.dumps({b"data": _System(f"touch {folder / 'PWNED'}"),
                                                    b"labels": [0]}, protocol=2))
    # files that are not files
    os.mkfifo(folder / "fifo.npz")
    os.symlink("loop-b.npz", folder / "loop-a.npz")
    os.symlink("loop-a.npz", folder / "loop-b.npz")
    (folder / "folder.npz").mkdir()
    shutil.copy(folder / "codes.npz", folder / "new\nline\x1b[31m.npz")
    shutil.copy(folder / "codes.npz", folder / "unreadable.npz")
    os.chmod(folder / "unreadable.npz", 0)
    (folder / "read-only").mkdir()
    os.chmod(folder / "read-only", 0o555)
    return folder


@pytest.fixture(scope="module")
def hostile():
    # Not under pytest's tmp root: that is private to its owner, and the unprivileged cases run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="torus-hw-hostile-"))
    os.chmod(folder, 0o755)
    try:
        yield make_hostile_inputs(folder)
    finally:
        os.chmod(folder / "read-only", 0o755)
        shutil.rmtree(folder)


class Case(NamedTuple):
    argv: list[str]
    message: str
    unprivileged: bool = False


def case(id, argv, message, unprivileged=False):
    return pytest.param(Case(argv if isinstance(argv, list) else argv.split(), message, unprivileged), id=id)


RTL_OUT = ["--out", "rtl-out"]
CASES = [
    # 1. no code from data: planted CIFAR batches
    case("cifar-planted-train", "train --data cifar10 --data-root planted --out model.pt",
         "CIFAR file planted/cifar-10-batches-py/data_batch_1: it names the global posix.system; "
         "only plain data is read (no pickled code or objects)"),
    case("cifar-planted-export", "export --model cifar10.pt --data-root planted --out out.npz",
         "CIFAR file planted/cifar-10-batches-py/data_batch_1: it names the global posix.system; "
         "only plain data is read (no pickled code or objects)"),
    case("cifar-planted-evaluate", "evaluate --model cifar10.pt --data-root planted",
         "CIFAR file planted/cifar-10-batches-py/data_batch_1: it names the global posix.system; "
         "only plain data is read (no pickled code or objects)"),
    # 2. small codes files that gave tracebacks
    case("codes-member-raw-bytes-format-version", "search --codes raw-format-version.npz",
         "codes file raw-format-version.npz: member format_version.npy is not a .npy array "
         "(it does not start with the .npy magic)"),
    case("codes-member-raw-bytes-bits", "search --codes raw-bits.npz",
         "codes file raw-bits.npz: member bits.npy is not a .npy array (it does not start with the .npy magic)"),
    case("codes-header-claims-8-tib", "search --codes header-claims-8-tib.npz",
         "codes file header-claims-8-tib.npz: member database.npy: its header claims 1099511627776×8 × 1 B = "
         "8.0 TiB, but the member holds 864 bytes"),
    case("codes-source-deep-json", "search --codes deep-json-source.npz",
         "codes file deep-json-source.npz: 'source' nests deeper than 32 levels"),
    case("codes-object-array", "search --codes object-array.npz",
         "codes file object-array.npz: member database.npy has dtype object: only plain numbers and strings are read"),
    case("codes-zip-bomb-beyond-limit", "search --codes zip-bomb.npz --max-codes-bytes 1000000",
         "codes file zip-bomb.npz holds 16.0 MiB of arrays, beyond the limit of 976.6 KiB; "
         "raise it with --max-codes-bytes"),
    # 3. checkpoints and options
    case("checkpoint-settings-ask-40gb", "export --model settings-ask-40gb.pt --out out.npz",
         "settings-ask-40gb.pt: checkpoint weights do not fit its settings (encoder.net.0.weight is (16, 64), "
         "the settings make (100000, 64))"),
    case("train-dim-1e9", "train --dim 1000000000 --out model.pt",
         "torusN D=1000000000 width=256 on inputs [64] makes a model of 257,000,148,352 parameters "
         "(957.4 GiB of float32), beyond the limit of 134,217,728; lower --dim / --width or raise it with "
         "--max-params"),
    case("train-seed-2-70", "train --seed 1180591620717411303424 --out model.pt",
         "seed must be at most 18,446,744,073,709,551,615 = 2^64 − 1 (torch's seed range), "
         "got 1180591620717411303424"),
    case("train-device-meta", "train --device meta --out model.pt",
         "--device 'meta' is not a device torus-hw trains on (choose cpu, cuda, cuda:N or mps)"),
    case("train-batch-1e6", "train --batch 1000000 --out model.pt",
         "batch must be at most 8,192 (SupCon's (2·batch)² similarity matrix), got 1000000"),
    # 4. no bound before the work
    case("rtl-dims-1e8", ["rtl", "--lanes", "8", "--bits", "1", "--dims", "100000000", *RTL_OUT],
         "the RTL unit for 8 lanes × 1-bit l1, D=100000000 would have about 100,000,157 flip-flops "
         "(100,000,000 of them the query ring), beyond the limit of 131,072; fewer lanes or dims, "
         "or raise it with --max-flipflops"),
    case("rtl-lanes-100000", ["rtl", "--lanes", "100000", "--bits", "8", "--dims", "8", *RTL_OUT],
         "the RTL unit for 100000 lanes × 8-bit l1, D=8 would have about 5,000,168 flip-flops "
         "(800,000 of them the query ring), beyond the limit of 131,072; fewer lanes or dims, "
         "or raise it with --max-flipflops"),
    case("run-rtl-lanes-100000", "run --target rtl --lanes 100000 --codes codes.npz",
         "the RTL unit for 100000 lanes × 8-bit l1, D=8 would have about 5,000,168 flip-flops "
         "(800,000 of them the query ring), beyond the limit of 131,072; fewer lanes or dims, "
         "or raise it with --max-flipflops"),
    case("bench-rows-1e10", "bench --targets cortex-m4 --dims 8 --rows 10000000000 --queries 1",
         "--rows 10000000000 × --dims 8 = 80,000,000,000 codes is beyond the bench's 67,108,864 "
         "(built in memory, then emulated row by row)"),
    case("bench-dims-1e8", "bench --targets cortex-m4 --dims 100000000 --rows 10 --queries 1",
         "--rows 10 × --dims 100000000 = 1,000,000,000 codes is beyond the bench's 67,108,864 "
         "(built in memory, then emulated row by row)"),
    case("evaluate-pq-more-centroids-than-rows", "evaluate --model torusN.pt --pq 1,16",
         "PQ(1,16) trains 2^16 = 65,536 centroids per sub-space and needs at least that many database rows; "
         "the database has 1,442"),
    case("search-negative-limit", "search --codes codes.npz --max-codes-bytes -5",
         "torus-hw search: argument --max-codes-bytes: must be at least 1, got -5"),
    # 6. misleading or silent
    case("export-nan-weights", "export --model nan-weight.pt --out out.npz",
         "nan-weight.pt: checkpoint weights hold 1 NaN or infinite values (in head.2.weight)"),
    case("export-nonfinite-embeddings", "export --model overflowing-weights.pt --out out.npz",
         "the model's embeddings hold 24 NaN or infinite values (of 14,376); nothing exported"),
    case("codes-unreadable", "search --codes unreadable.npz", "codes file unreadable.npz: permission denied",
         unprivileged=True),
    case("codes-fifo", "search --codes fifo.npz", "codes file fifo.npz is a FIFO (named pipe), not a regular file"),
    case("codes-dev-null", "search --codes /dev/null",
         "codes file /dev/null is a character device, not a regular file"),
    case("codes-symlink-loop", "search --codes loop-a.npz",
         "codes file loop-a.npz: too many levels of symbolic links (a symlink loop)"),
    case("codes-folder", "search --codes folder.npz", "codes file folder.npz is a folder, not a file"),
    case("checkpoint-fifo", "export --model fifo.npz --out out.npz",
         "model checkpoint fifo.npz is a FIFO (named pipe), not a regular file"),
    case("codes-name-with-newline", ["search", "--codes", "new\nline\x1b[31m.npz", "--max-codes-bytes", "1"],
         "codes file new\\nline\\x1b[31m.npz holds 200 bytes of arrays, beyond the limit of 1 bytes; "
         "raise it with --max-codes-bytes"),
    case("export-out-unwritable", "export --model torusN.pt --out read-only/out.npz",
         "cannot write read-only/out.npz: permission denied (folder read-only)", unprivileged=True),
    case("gen-out-unwritable", "gen --target cortex-m4 --kernel search --dims 8 --out read-only/kernel",
         "cannot write --out read-only/kernel: permission denied (folder read-only)", unprivileged=True),
    case("export-out-dev-null", "export --model torusN.pt --out /dev/null",
         "cannot write /dev/null: it is a character device, not a regular file"),
    case("gen-out-symlink-loop", "gen --target cortex-m4 --kernel search --dims 8 --out loop-a.npz",
         "--out loop-a.npz is a symbolic link loop"),
]


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder`` (not following links) with its kind, size and modification time."""
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(dirpath) / name
            st_ = p.lstat()
            out[str(p.relative_to(folder))] = (stat.S_IFMT(st_.st_mode), st_.st_size, st_.st_mtime_ns)
    return out


def _preimport():
    """What an unprivileged child will need: it cannot read modules in root's private folders."""
    import isa.build  # noqa: F401
    import isa.spec  # noqa: F401
    import isa.targets  # noqa: F401
    import torus_hw.export  # noqa: F401
    import torus_hw.npzfile  # noqa: F401
    import torus_hw.train  # noqa: F401


def run_cli(argv: list[str], folder: Path, unprivileged: bool = False) -> tuple[int, str, str]:
    """``main(argv)`` in ``folder``: (status, stdout, stderr); in a forked child as nobody if asked."""
    if not unprivileged:
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            # A warning would reach the user's stderr as more lines: count it as part of stderr.
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                    warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                status = main(argv)
        finally:
            os.chdir(cwd)
        shown = "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
        return status, out.getvalue(), shown + err.getvalue()
    _preimport()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report, never return into pytest
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            result = run_cli(argv, folder)
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(data))


@pytest.mark.parametrize("c", CASES)
def test_hostile_input_is_refused_in_one_true_line(c, hostile):
    before = snapshot(hostile)
    status, out, err = run_cli(c.argv, hostile, c.unprivileged)
    assert "Traceback" not in err
    assert status == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err == f"torus-hw: error: {c.message}\n"
    assert snapshot(hostile) == before, "an output or a temporary was left behind"
    assert not (hostile / "PWNED").exists()


def test_no_command_prints_usage_and_an_error_on_stderr():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([])
    assert status == 2 and out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("usage: torus-hw")
    assert lines[-1] == "torus-hw: error: no command given; run torus-hw --help for the list"


def _brute_force(db: np.ndarray, q: np.ndarray, bits: int, k: int) -> tuple[list, list]:
    """Top-k l1 torus search written from the definition, independently of torus_hw.reference."""
    m = 1 << bits
    d = np.abs(q.astype(np.int64)[:, None, :] - db.astype(np.int64)[None, :, :]) % m
    dist = np.minimum(d, m - d).sum(-1)
    order = [np.lexsort((np.arange(len(db)), row))[:k] for row in dist]
    return [o.tolist() for o in order], [dist[i, o].tolist() for i, o in enumerate(order)]


def test_zip_bomb_within_the_limit_gives_the_right_answer(hostile):
    status, out, err = run_cli(["search", "--codes", "zip-bomb.npz", "--k", "3", "--json"], hostile)
    assert status == 0, err
    got = json.loads(out)["queries"]
    assert [g["indices"] for g in got] == [[0, 1, 2]] * 2 and [g["distances"] for g in got] == [[0, 0, 0]] * 2


# --- fuzzing ---------------------------------------------------------------------------------

FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)


def _check_outcome(status: int, out: str, err: str) -> None:
    assert "Traceback" not in err
    assert status in (0, 2), (status, err)
    event(f"exit {status}")  # --hypothesis-show-statistics gives the mix of accepted and refused mutants
    if status == 2:
        assert err.count("\n") == 1 and err.startswith("torus-hw: error: "), err


def _search_outcome(path: Path, folder: Path) -> None:
    status, out, err = run_cli(["search", "--codes", path.name, "--k", "3", "--json"], folder)
    _check_outcome(status, out, err)
    if status == 0:  # the right answer for what the file holds, as NumPy itself reads it
        with zipfile.ZipFile(path) as zf:  # NumPy's .npy reader on each member (np.load sniffs the prefix)
            read = lambda name: np.lib.format.read_array(zf.open(f"{name}.npy"), allow_pickle=False)  # noqa: E731
            db, q, bits = read("database"), read("queries"), int(read("bits"))
        idx, dist = _brute_force(db, q, bits, 3)
        got = json.loads(out)["queries"]
        assert [g["indices"] for g in got] == idx and [g["distances"] for g in got] == dist


@pytest.fixture(scope="module")
def fuzz_folder():
    folder = Path(tempfile.mkdtemp(prefix="torus-hw-fuzz-"))
    rng = np.random.default_rng(1)
    TorusCodes(database=rng.integers(0, 16, (30, 8)).astype(np.uint8), queries=rng.integers(0, 16, (3, 8)).astype(
        np.uint8), bits=4, source={"mode": "torusN", "grid": [1, 2, {"a": None}]}).save(folder / "base.npz")
    _checkpoint(folder, "base.pt")
    yield folder
    shutil.rmtree(folder)


MUTATIONS = st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert"]), st.floats(0, 1),
                               st.integers(0, 255)), min_size=1, max_size=6)


def _mutate(data: bytes, mutations) -> bytes:
    data = bytearray(data)
    for kind, where, value in mutations:
        i = min(int(where * len(data)), max(len(data) - 1, 0))
        if not data:
            break
        if kind == "flip":
            data[i] ^= 1 << (value % 8)
        elif kind == "set":
            data[i] = value
        elif kind == "cut":
            del data[i:i + value + 1]
        else:
            data[i:i] = bytes([value]) * (value % 17 + 1)
    return bytes(data)


@FUZZ
@given(MUTATIONS)
def test_fuzz_codes_file_bytes(fuzz_folder, mutations):
    mutant = fuzz_folder / "mutant.npz"
    mutant.write_bytes(_mutate((fuzz_folder / "base.npz").read_bytes(), mutations))
    _search_outcome(mutant, fuzz_folder)


ARRAYS = st.tuples(st.sampled_from(["u1", "u2", "i4", "i8", "f4", "b1", "U3", "c8"]),
                   st.lists(st.integers(0, 6), min_size=0, max_size=3), st.integers(0, 70000))
FIELDS = ["database", "queries", "bits", "format_version", "source", "database_labels", "query_labels"]
CODES_EDITS = st.lists(st.one_of(
    st.tuples(st.just("array"), st.sampled_from(FIELDS), ARRAYS),
    st.tuples(st.just("value"), st.sampled_from(FIELDS),
              st.sampled_from([1, 4, 8, 16, 7, -1, 2**40, "8", '{"a": 1}', "[1]", "nope", "{" * 40, 0, 2])),
    st.tuples(st.just("drop"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("bits"), st.sampled_from([1, 4, 8, 16]), st.none()),  # a legitimate re-quantisation
), min_size=0, max_size=3)


@FUZZ
@given(CODES_EDITS, st.integers(0, 2**32 - 1))
def test_fuzz_codes_file_structure(fuzz_folder, edits, seed):
    """A valid codes file with up to three members replaced, dropped, re-typed or re-shaped."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 12)), int(rng.integers(1, 9))
    members = {"database": rng.integers(0, 256, (n, d)).astype(np.uint8),
               "queries": rng.integers(0, 256, (3, d)).astype(np.uint8), "bits": np.array(8),
               "format_version": np.array(1), "source": np.array('{"mode": "torusN"}'),
               "database_labels": np.arange(n, dtype=np.int64), "query_labels": np.zeros(3, np.int64)}
    for kind, name, value in edits:
        if kind == "array":
            dtype, shape, hi = value
            arr = rng.integers(0, max(hi, 1), shape, dtype=np.int64) if shape else rng.integers(0, max(hi, 1))
            members[name] = np.asarray(arr).astype(dtype)
        elif kind == "value":
            members[name] = np.array(value)
        elif kind == "drop":
            members.pop(name, None)
        else:  # bits: codes of that width, the dtype that width needs
            dtype = np.uint16 if name == 16 else np.uint8
            for field in ("database", "queries"):
                if field in members and members[field].ndim == 2:
                    members[field] = rng.integers(0, 1 << name, members[field].shape).astype(dtype)
            members["bits"] = np.array(name)
    path = fuzz_folder / "structured.npz"
    np.savez(path, **members)
    _search_outcome(path, fuzz_folder)


CKPT_EDITS = st.lists(st.one_of(
    st.tuples(st.just("setting"), st.sampled_from(["mode", "dim", "width", "seed", "batch", "epochs", "lr", "data"]),
              st.sampled_from([0, 1, 2, 7, 8, 10**12, -3, 2.5, float("nan"), "torusN", "x", None, [8]])),
    st.tuples(st.just("weight"), st.integers(0, 10), st.sampled_from([float("nan"), float("inf"), 1e38, 0.0])),
    st.tuples(st.just("shape"), st.integers(0, 10), st.integers(1, 40)),
    st.tuples(st.just("dataset"), st.sampled_from(["kind", "input_shape"]),
              st.sampled_from(["image", "vector", "x", [64], [8, 8], [3, 32, 32], [0], [10**9], None])),
    st.tuples(st.just("drop"), st.sampled_from(["settings", "state_dict", "dataset", "history", "kind"]), st.none()),
), min_size=0, max_size=3)


@FUZZ
@given(CKPT_EDITS, st.booleans(), MUTATIONS)
def test_fuzz_checkpoints(fuzz_folder, edits, byte_level, mutations):
    import torch

    obj = torch.load(fuzz_folder / "base.pt", weights_only=True)
    names = sorted(obj["state_dict"])
    for kind, key, value in sorted(edits, key=lambda e: e[0] == "drop"):  # drops last: the edits need the fields
        if kind == "setting":
            obj["settings"][key] = value
        elif kind == "weight":
            t = obj["state_dict"][names[key % len(names)]]
            if t.is_floating_point() and t.numel():
                t.view(-1)[0] = value
        elif kind == "shape":
            name = names[key % len(names)]
            obj["state_dict"][name] = torch.zeros(value)
        elif kind == "dataset":
            obj["dataset"][key] = value
        else:
            obj.pop(key, None)
    path = fuzz_folder / "mutant.pt"
    torch.save(obj, path)
    if byte_level:
        path.write_bytes(_mutate(path.read_bytes(), mutations))
    out = fuzz_folder / "mutant-codes.npz"
    status, stdout, err = run_cli(["export", "--model", path.name, "--out", out.name], fuzz_folder)
    _check_outcome(status, stdout, err)
    if status == 0:
        codes = TorusCodes.load(out)
        assert codes.database.shape[0] == 1442 and codes.queries.shape[0] == 355
        out.unlink()
    else:
        assert not out.exists()


def test_docs_mirror():
    """Every case's message is in docs/errors.md, in the row of its name."""
    text = DOCS.read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for p in CASES:
        (c,) = p.values
        assert p.id in rows, f"docs/errors.md has no row for {p.id}"
        assert f"`` torus-hw: error: {_md(c.message)} ``" in rows[p.id], p.id


def _md(message: str) -> str:
    return message.replace("|", "\\|")


def _argv_md(argv: list[str]) -> str:
    return " ".join(a.encode("unicode_escape").decode() if not a.isprintable() else a for a in argv)


if __name__ == "__main__":  # print the docs rows from a real run of every case
    folder = Path(tempfile.mkdtemp(prefix="torus-hw-hostile-"))
    os.chmod(folder, 0o755)
    make_hostile_inputs(folder)
    for p in CASES:
        (c,) = p.values
        _, _, err = run_cli(c.argv, folder, c.unprivileged)
        print(f"| {p.id} | `torus-hw {_md(_argv_md(c.argv))}` | `` {_md(err.strip())} `` |")
    os.chmod(folder / "read-only", 0o755)
    shutil.rmtree(folder)
    sys.exit(0)
