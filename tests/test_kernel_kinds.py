"""Kernels as data: each kernel's description (isa.spec.KernelKind) drives the harness, the run and the CLI.

Nothing here names a kernel's arguments or answer: every test walks
``isa.spec.KINDS`` and checks that what the description says (its
parameters, its output buffers, its reference computation) is what the
runner places, reads back and compares, on every target (and the guard past
the output on a flat target and on the 8086's real-mode memory).
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from isa.spec import KERNELS, KINDS, OUT, PARAM, ROW, U32_MAX, KernelSpec, prototype
from isa.targets import TARGETS
from sim.machine import EmulatorFault
from sim.runner import KernelRunner
from sim.search_run import QueryResult, SearchRun, run_kernel
from torus_hw import reference
from torus_hw.cli import main
from torus_hw.codes import TorusCodes
from torus_hw.errors import TorusInputError

from crosscheck import built

GUARDED = ("rv32im", "i8086")  # a flat address space, and real mode (where an overrun cannot fault)
ROWS, DIMS, K_MAX = 23, 7, 5


def _codes(seed: int, rows: int = ROWS) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    db = rng.integers(0, 256, (rows, DIMS)).astype(np.uint8)
    db[9] = db[4]                                    # a tie
    return db, np.stack([db[4], rng.integers(0, 256, DIMS).astype(np.uint8)])


def _spec(kernel: str) -> KernelSpec:
    return KernelSpec(kernel, "l1", 8, DIMS, K_MAX if KINDS[kernel].compiled else 1)


def _boundary_values(kind, spec, query, db) -> dict[str, list[int]]:
    """Each parameter at its ends for this spec and these rows, plus the values where the answer changes."""
    dist = reference.scan(query, db, bits=spec.bits, metric=spec.metric)
    rows = len(db)
    values = {}
    for p in kind.params:
        high = p.call_limit(spec, rows)
        values[p.name] = {p.low, high, p.default(rows) if p.default else p.low}
    if "radius" in values:   # just below, at and above the distances that occur, and the largest possible
        values["radius"] |= {int(dist.min()), int(dist.min()) - 1 if dist.min() else 0, int(np.median(dist)),
                             int(dist.max()), reference.max_distance(spec.dims, spec.bits, spec.metric)}
    if "cap" in values:      # below the count, at it, above it
        values["cap"] |= {1, 2, rows // 2, rows + 1}
    return {name: sorted(v) for name, v in values.items()}


def test_prototypes_are_derived_from_the_arguments_exactly():
    """The C prototypes every generator prints (and kernel.h carries) come from the argument lists, unchanged."""
    s = "torus_x"
    pad = " " * len(f"uint32_t {s}(")
    assert prototype("distance", s) == f"uint32_t {s}(const uint8_t *q, const uint8_t *row);"
    assert prototype("scan", s) == f"void {s}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t *out);"
    assert prototype("search", s) == (f"uint32_t {s}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t k,\n"
                                      f"{pad}uint32_t *out_idx, uint32_t *out_dist);   /* returns min(k, n) */")
    assert prototype("range", s) == (
        f"uint32_t {s}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t radius,\n"
        f"{pad}uint32_t *out_idx, uint32_t cap);   /* returns the count of rows within radius */")


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_description_is_complete(kernel):
    """Arguments name real parameters and fields; the answer's fields are each produced exactly once."""
    kind = KINDS[kernel]
    params = {p.name for p in kind.params}
    assert {a.name for a in kind.args if a.kind in (PARAM, ROW)} == params   # every parameter is an argument
    produced = [a.field for a in kind.outputs] + [name for name, _ in kind.from_reference]
    if kind.returns and kind.returns.field:
        produced.append(kind.returns.field)
    assert sorted(produced) == sorted(kind.fields)
    assert all(rows in kind.fields for _, rows in kind.from_reference)
    assert kind.compiled is None or kind.compiled in params
    assert kind.summary.format(**{p.name: 1 for p in kind.params})


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_the_description_drives_the_runner(target, kernel):
    """Every parameter combination at the boundaries: the runner's fields equal the description's reference."""
    spec = _spec(kernel)
    kind = spec.kind
    db, queries = _codes(len(target) * 10 + len(kernel))
    runner = KernelRunner(built(target, spec), count=False)
    runner.load_database(db)
    for query in queries:
        grid = _boundary_values(kind, spec, query, db)
        for combo in itertools.product(*grid.values()):
            params = dict(zip(grid, combo))
            got = runner.call(query, **params)
            want = kind.reference(query, db, bits=8, metric="l1", **params)
            answer = kind.complete(got.fields, query, db, bits=8, metric="l1")
            for name in kind.fields:
                assert np.asarray(answer[name]).tolist() == np.asarray(want[name]).tolist(), (
                    target, kernel, params, name)
            for name in got.fields:        # what the kernel itself returned is what the description says
                assert name in kind.fields and name not in dict(kind.from_reference)


def test_range_cap_below_the_count_and_radius_at_the_boundaries():
    """The first cap indices in row order; the count is of all rows; radius d keeps distance d, d-1 does not."""
    spec = _spec("range")
    db, queries = _codes(11)
    runner = KernelRunner(built("rv32im", spec), count=False)
    runner.load_database(db)
    dist = reference.scan(queries[1], db, bits=8, metric="l1")
    d = int(np.sort(dist)[5])
    at, below = runner.call(queries[1], radius=d, cap=3), runner.call(queries[1], radius=d - 1)
    within = np.flatnonzero(dist <= d)
    assert at.count == len(within) > 3 and at.indices.tolist() == within[:3].tolist()
    assert below.count == np.count_nonzero(dist <= d - 1) < at.count
    everything = runner.call(queries[1], radius=U32_MAX)
    assert everything.count == ROWS and everything.indices.tolist() == list(range(ROWS))


@pytest.mark.parametrize("target", GUARDED)
def test_the_guard_past_the_slots_catches_an_overrun(target):
    """Tell the harness the range kernel may write one slot fewer than it does: the guard word must catch it."""
    spec = _spec("range")
    db, queries = _codes(3)
    runner = KernelRunner(built(target, spec), count=False)
    runner.load_database(db)
    short = tuple(dataclasses.replace(a, slots=lambda params, rows: min(params["cap"], rows) - 1)
                  if a.kind == OUT else a for a in runner.kind.args)
    runner.kind = dataclasses.replace(runner.kind, args=short)
    with pytest.raises(EmulatorFault, match=rf"^{target}: the range kernel wrote past out_idx\[1\]$"):
        runner.call(queries[0], radius=U32_MAX, cap=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_parameter_refusals_name_the_parameter_and_the_bound(kernel):
    spec = _spec(kernel)
    kind = spec.kind
    runner = KernelRunner(built("rv32im", spec), count=False)
    db, queries = _codes(1)
    runner.load_database(db)
    with pytest.raises(TorusInputError, match=rf"^the {kernel} kernel takes no knob \(its parameters: "):
        runner.call(queries[0], knob=1)
    for p in kind.params:
        others = {q.name: q.low for q in kind.params if q.name != p.name}
        high = p.call_limit(spec, ROWS)
        with pytest.raises(TorusInputError, match=rf"^{p.name}={high + 1} outside {p.low}\.\.{high} "):
            runner.call(queries[0], **others, **{p.name: high + 1})
        with pytest.raises(TorusInputError, match=rf"^{p.name} must be an integer, got True$"):
            runner.call(queries[0], **others, **{p.name: True})
        with pytest.raises(TorusInputError, match=rf"^{p.name} must be an integer, got 1.5$"):
            runner.call(queries[0], **others, **{p.name: 1.5})
        if p.default is None:
            with pytest.raises(TorusInputError, match=rf"^the {kernel} kernel needs {p.name}$"):
                runner.call(queries[0], **others)


@pytest.mark.parametrize("kernel", KERNELS)
def test_run_kernel_compares_every_field_with_the_reference(kernel):
    kind = KINDS[kernel]
    db, queries = _codes(7)
    params = {p.name: (p.default(ROWS) if p.default else 300) for p in kind.params}
    if kind.compiled:
        params[kind.compiled] = 3
    run = run_kernel(kernel, "rv32im", db, queries, bits=8, metric="l1", params=params)
    assert run.mismatches == 0 and run.params == params
    out = run.to_json()
    assert {**out, "queries": None} == {**out, **params, "kernel": kernel, "queries": None}
    for q, got in zip(queries, out["queries"]):
        want = kind.reference(q, db, bits=8, metric="l1", **params)
        assert [name for name in got if name not in ("instructions", "cycles")] == list(kind.fields)
        assert all(got[name] == np.asarray(want[name]).tolist() for name in kind.fields)
    assert all(out[f"{name}_from"] == "reference" for name, _ in kind.from_reference)


def test_first_mismatch_names_every_field():
    run = SearchRun("rv32im", "ibex", 8, "l1", DIMS, "range", {"radius": 3, "cap": 2},
                    [QueryResult({"count": 2, "indices": [0, 4], "distances": [0, 1]}, None, None)], [6],
                    [{"count": 3, "indices": np.array([0, 1]), "distances": np.array([0, 0])}], mismatched=[0])
    assert run.first_mismatch() == ("query 6: rv32im gave count 2 indices [0, 4] distances [0, 1], "
                                    "reference gives count 3 indices [0, 1] distances [0, 0]")


@pytest.mark.parametrize("argv, name, want", [
    (["--kernel", "scan"], "distances", lambda q, db: reference.scan(q, db, bits=8, metric="l1")),
    (["--kernel", "distance", "--row", "5"], "distance",
     lambda q, db: int(reference.scan(q, db, bits=8, metric="l1")[5])),
])
def test_run_drives_every_kernel_through_the_same_path(tmp_path, capsys, argv, name, want):
    """``torus-hw run`` is not limited to search and range: scan and distance run and are cross-checked too."""
    db, queries = _codes(21)
    path = tmp_path / "codes.npz"
    TorusCodes(database=db, queries=queries, bits=8).save(path)
    assert main(["run", "--target", "cortex-m0", "--codes", str(path), *argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mismatches"] == 0
    assert [q[name] for q in out["queries"]] == [np.asarray(want(q, db)).tolist() for q in queries]
    assert main(["run", "--target", "cortex-m0", "--codes", str(path), *argv]) == 0
    assert "0 mismatches" in capsys.readouterr().out


@pytest.mark.parametrize("kernel", KERNELS)
def test_measure_stack_probes_every_parameter(kernel):
    from sim.stack import measure_stack

    assert 0 <= measure_stack(built("cortex-m4", _spec(kernel))) < 256
