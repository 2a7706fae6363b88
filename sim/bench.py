"""Cost per query on every core: generated kernels against the strongest baselines and the bound.

For each target, core, D and k: an 8-bit l1 top-k search over N random rows,
measured in the same harness and cycle model for the generated kernel (the
generator's default, fastest variant) and for every baseline that covers
the spec — each C source of ``baselines/c/`` (plain, SWAR, ACLE, NEON) built by
each requested compiler at -O2, -O3 and -Os (``baselines.build``), or on the
8086, which no compiler here targets, the generator's byte loop and simple
variant.  Every answer of every build is compared with the reference; a
baseline that disagrees is a failure of the bench, never a dropped column.

Reported per row: the kernel's cycles, the best baseline (source, compiler,
flags, cycles) and ``ratio_best`` = its cycles ÷ the kernel's, ``ratio_naive``
against the target's own baseline (``Target.baseline``: the plain C reference
by clang -O2, -O3 on AArch64; the 8086 byte loop), and
the core's lower bound (``sim.bounds``) with achieved ÷ bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from baselines.build import NAIVE, OPT_LEVELS, baseline_sources, build_c_baseline, check_compilers, x86_baselines
from isa.build import build_kernel, generate
from isa.spec import KernelSpec
from isa.targets import TARGETS, get_target
from torus_hw.errors import TorusInputError

from .bounds import bound_cycles_per_row
from .cycles import cores_for, supports_wait_states
from .search_run import run_search

DEFAULT_DIMS = (8, 16, 32, 64)
DEFAULT_KS = (1, 5, 16)
INTRINSICS = ("acle", "neon")  # source-name prefixes of the intrinsics baselines
# The cost issue's goal of each target and the naive baseline it is measured against live in its
# description (Target.goal, Target.baseline; tests/test_bench_goals.py); these views are derived.
GOAL_BASELINE = {name: t.baseline for name, t in TARGETS.items()}
GOALS = {name: t.goal for name, t in TARGETS.items()}
# Goals of issue 12 (benchmarks, never timed tests).
GOAL_RATIO_BEST = 1.0
GOAL_BOUND = 1.10            # achieved ÷ bound, at D >= GOAL_BOUND_MIN_DIMS
GOAL_BOUND_MIN_DIMS = 16
GOAL_INTRINSICS = {"cortex-m4": 1.25, "cortex-a55": 1.25}   # at D in GOAL_INTRINSICS_DIMS
GOAL_INTRINSICS_DIMS = (16, 64)


@dataclass
class Baseline:
    source: str          # baselines.build source name, or the 8086 generator variant
    compiler: str        # clang / gcc, or "generator" on the 8086
    flags: str           # -O2 / -O3 / -Os ("" for a generator variant)
    cycles: float = 0.0
    code_bytes: int = 0
    mismatches: int = 0

    @property
    def name(self) -> str:
        return " ".join(x for x in (self.source, self.compiler, self.flags) if x)


@dataclass
class BenchRow:
    target: str
    core: str
    dims: int
    k: int
    rows: int
    variant: str
    code_bytes: int
    instructions: float
    cycles: float
    cycles_per_row_dim: float
    best_baseline: dict
    naive_baseline: dict
    ratio_best: float
    ratio_naive: float
    ratio_intrinsics: float | None
    bound_cycles_per_row: float
    bound_cycles_per_row_dim: float
    achieved_over_bound: float
    compilers: list[str]
    mismatches: int                      # the kernel's
    wait_states: str = "zero"            # the memory system the cycles were priced with (--wait-states)
    baseline_mismatches: list[str] = field(default_factory=list)   # names of baselines that disagreed
    baselines: list[dict] = field(default_factory=list)            # every baseline measured

    def to_json(self) -> dict:
        return asdict(self)

    def goals(self) -> dict[str, bool]:
        """Which of issue 12's goals apply to this row, and whether each is met."""
        out = {"ratio_best": self.ratio_best >= GOAL_RATIO_BEST}
        if self.dims >= GOAL_BOUND_MIN_DIMS:
            out["bound"] = self.achieved_over_bound <= GOAL_BOUND
        if self.core in GOAL_INTRINSICS and self.dims in GOAL_INTRINSICS_DIMS and self.ratio_intrinsics:
            out["intrinsics"] = self.ratio_intrinsics >= GOAL_INTRINSICS[self.core]
        return out


def baseline_name(target: str) -> str:
    """The naive baseline's name: the target's own (``Target.baseline``: plain C by clang, or the 8086 byte loop)."""
    return GOAL_BASELINE[get_target(target).name]


def build_baseline(target: str, spec: KernelSpec):
    """The naive baseline for ``spec``: the plain C reference by clang at the target's level, or the byte loop."""
    name = baseline_name(target)
    if name == "byte loop":
        return build_kernel(target, spec, variant="baseline")
    return build_c_baseline(target, spec, name.split()[-1], source=NAIVE, compiler="clang")


def _baseline_builds(target: str, spec: KernelSpec, compilers: list[str]):
    """(Baseline, built kernel) for every baseline of ``spec`` on ``target``."""
    if not get_target(target).c_baselines:
        for variant in x86_baselines():
            label = "byte loop" if variant == "baseline" else "simple variant"
            yield Baseline(label, "generator", ""), build_kernel(target, spec, variant=variant)
        return
    for source in baseline_sources(target, spec):
        for compiler in compilers:
            for opt in OPT_LEVELS:
                yield (Baseline(source.name, compiler, opt),
                       build_c_baseline(target, spec, opt, source=source.name, compiler=compiler))


def _naive(target: str, b: Baseline) -> bool:
    name = baseline_name(target)
    if name == "byte loop":
        return b.source == name
    return (b.source, b.compiler, b.flags) == (NAIVE, *name.split())


def bench(targets=None, dims=DEFAULT_DIMS, ks=DEFAULT_KS, *, rows: int = 1000, queries: int = 3, seed: int = 0,
          compilers=("clang",), progress=None, wait_states=None) -> list[BenchRow]:
    """Measure every (target, core, D, k); limits are checked before any build.

    ``wait_states`` prices the targets whose cores all model them (the others
    at zero, as each row's ``wait_states`` says).
    """
    targets = list(TARGETS) if not targets else list(targets)
    for t in targets:
        get_target(t)
    if rows < 1 or queries < 1:
        raise TorusInputError("--rows and --queries must be at least 1")
    compilers = check_compilers(compilers, targets)
    for t in targets:  # every spec and every generator limit is refused before the first build
        for d in dims:
            for k in ks:
                generate(t, KernelSpec("search", "l1", 8, int(d), int(k)))
    if "clang" not in compilers:
        raise TorusInputError("--compilers must include clang: the naive baseline is the plain C by clang -O2")
    out = []
    for t in targets:
        target = get_target(t)
        for d in dims:
            rng = np.random.default_rng(seed + d)
            db = rng.integers(0, 256, (rows, d)).astype(np.uint8)
            qs = rng.integers(0, 256, (queries, d)).astype(np.uint8)
            for k in ks:
                spec = KernelSpec("search", "l1", 8, int(d), int(k))
                ws = wait_states if wait_states and all(map(supports_wait_states, cores_for(t))) else None
                out += _cell(target, spec, db, qs, compilers, ws)
                if progress:
                    progress()
    return out


def _cell(target, spec: KernelSpec, db, qs, compilers, wait_states=None) -> list[BenchRow]:
    t, d, k, n = target.name, spec.dims, spec.k_max, len(db)
    cores = cores_for(t)

    def run(built):
        return run_search(t, db, qs, bits=8, metric="l1", k=k, core=cores[0], built=built, extra_cores=cores[1:],
                          wait_states=wait_states)

    fast = build_kernel(target, spec)
    mine = run(fast)
    measured = []
    for base, built in _baseline_builds(t, spec, compilers):
        r = run(built)
        base.code_bytes, base.mismatches = built.code_bytes, r.mismatches
        measured.append((base, r))
    rows = []
    for core in cores:
        cycles = mine.mean_cycles(core)
        per_core = []
        for base, r in measured:
            b = Baseline(base.source, base.compiler, base.flags, r.mean_cycles(core), base.code_bytes, base.mismatches)
            per_core.append(b)
        best = min(per_core, key=lambda b: b.cycles)
        naive = next(b for b in per_core if _naive(t, b))
        intrinsics = [b for b in per_core if b.source.startswith(INTRINSICS)]
        bound = bound_cycles_per_row(core, d)
        rows.append(BenchRow(
            target=t, core=core, dims=d, k=k, rows=n, variant=fast.kernel.variant, code_bytes=fast.code_bytes,
            instructions=mine.mean("instructions"), cycles=cycles, cycles_per_row_dim=cycles / (n * d),
            best_baseline=_json(best), naive_baseline=_json(naive), ratio_best=best.cycles / cycles,
            ratio_naive=naive.cycles / cycles,
            ratio_intrinsics=min(b.cycles for b in intrinsics) / cycles if intrinsics else None,
            bound_cycles_per_row=bound, bound_cycles_per_row_dim=bound / d,
            achieved_over_bound=cycles / n / bound, compilers=list(compilers), mismatches=mine.mismatches,
            wait_states=wait_states.describe() if wait_states else "zero",
            baseline_mismatches=[b.name for b in per_core if b.mismatches],
            baselines=[_json(b) for b in per_core]))
    return rows


def _json(b: Baseline) -> dict:
    return {"source": b.source, "compiler": b.compiler, "flags": b.flags, "cycles": b.cycles,
            "code_bytes": b.code_bytes, "mismatches": b.mismatches}


def failures(rows: list[BenchRow]) -> list[str]:
    """One line per disagreement with the reference (kernel or baseline); empty when all matched."""
    out = []
    for r in rows:
        if r.mismatches:
            out.append(f"{r.target} {r.core} D={r.dims} k={r.k}: the generated kernel disagreed with the reference")
        for name in r.baseline_mismatches:
            out.append(f"{r.target} {r.core} D={r.dims} k={r.k}: baseline {name} disagreed with the reference")
    return out


def plot(rows: list[BenchRow], path) -> None:
    """One panel per core: cycles per row·dim against D for the kernel, the best baseline and the bound (smallest k)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cores = list(dict.fromkeys(r.core for r in rows))
    k = min(r.k for r in rows)
    cols = min(4, len(cores))
    nrows = (len(cores) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), dpi=120, squeeze=False)
    for ax, core in zip(axes.flat, cores):
        mine = [r for r in rows if r.core == core and r.k == k]
        dims = [r.dims for r in mine]
        per = [r.rows * r.dims for r in mine]
        ax.plot(dims, [r.cycles / n for r, n in zip(mine, per)], marker="o", label="generated kernel")
        ax.plot(dims, [r.best_baseline["cycles"] / n for r, n in zip(mine, per)], marker="s", ls="--",
                label="best baseline")
        ax.plot(dims, [r.bound_cycles_per_row_dim for r in mine], ls=":", color="k", label="lower bound")
        ax.set_xscale("log", base=2)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{core} ({mine[0].target})", fontsize=9)
        ax.set_xlabel("D", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(cores):]:
        ax.axis("off")
    axes.flat[0].set_ylabel(f"cycles per row·dim (N = {rows[0].rows}, k = {k})", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("8-bit l1 search: generated kernel, best baseline and the core's lower bound", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
