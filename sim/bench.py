"""Cost per query on every core: generated kernels against their baselines.

For each target, core and D: an 8-bit l1 top-1 search over N random rows,
measured in the same harness and cycle model for the generated kernel (the
generator's default, fastest variant) and the target's baseline — clang -O2
and -O3 of the plain C kernels, or on the 8086 the generated LODSB/SUB/CBW
byte loop.  The ratio is baseline cycles / kernel cycles (higher is better).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from isa.baseline import build_c_baseline
from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import TARGETS, get_target
from torus_hw.errors import TorusInputError

from .cycles import cores_for, supports_wait_states
from .search_run import run_search

DEFAULT_DIMS = (8, 16, 32, 64)
# Each target's goal and the baseline it is measured against live in its
# description (Target.baseline, Target.goal); these views are derived.
GOAL_BASELINE = {name: t.baseline for name, t in TARGETS.items()}
GOALS = {name: t.goal for name, t in TARGETS.items()}


@dataclass
class BenchRow:
    target: str
    core: str
    dims: int
    rows: int
    variant: str
    code_bytes: int
    instructions: float
    cycles: float
    cycles_per_row_dim: float
    baseline: str
    baseline_code_bytes: int
    baseline_cycles: float
    ratio: float
    goal: float | None
    mismatches: int
    wait_states: str = "zero"   # the memory system the cycles were priced with (--wait-states)

    def to_json(self) -> dict:
        return asdict(self)


def baseline_name(target: str) -> str:
    return GOAL_BASELINE[get_target(target).name]


def build_baseline(target: str, spec: KernelSpec):
    """The target's baseline kernel for ``spec``: clang at the goal's -O level, or the 8086 byte loop."""
    name = baseline_name(target)
    if name == "byte loop":
        return build_kernel(target, spec, variant="baseline")
    return build_c_baseline(target, spec, opt=name.split()[-1])


def bench(targets=None, dims=DEFAULT_DIMS, *, rows: int = 1000, queries: int = 3, seed: int = 0,
          progress=None, wait_states=None) -> list[BenchRow]:
    targets = list(TARGETS) if not targets else targets
    for t in targets:
        get_target(t)
    if rows < 1 or queries < 1:
        raise TorusInputError("--rows and --queries must be at least 1")
    out = []
    for t in targets:
        target = get_target(t)
        for d in dims:
            spec = KernelSpec("search", "l1", 8, int(d), 1)
            rng = np.random.default_rng(seed + d)
            db = rng.integers(0, 256, (rows, d)).astype(np.uint8)
            qs = rng.integers(0, 256, (queries, d)).astype(np.uint8)
            fast = build_kernel(target, spec)
            base = build_baseline(t, spec)
            for core in cores_for(t):
                ws = wait_states if wait_states and supports_wait_states(core) else None  # others: zero, said so
                runs = [run_search(t, db, qs, bits=8, metric="l1", k=1, core=core, built=b, wait_states=ws)
                        for b in (fast, base)]
                mine, theirs = runs
                cycles, base_cycles = mine.mean("cycles"), theirs.mean("cycles")
                out.append(BenchRow(
                    target=t, core=core, dims=int(d), rows=rows, variant=fast.kernel.variant,
                    code_bytes=fast.code_bytes, instructions=mine.mean("instructions"), cycles=cycles,
                    cycles_per_row_dim=cycles / (rows * d), baseline=baseline_name(t),
                    baseline_code_bytes=base.code_bytes, baseline_cycles=base_cycles,
                    ratio=base_cycles / cycles, goal=GOALS.get(t) if d == 16 else None,
                    mismatches=mine.mismatches + theirs.mismatches,
                    wait_states=ws.describe() if ws else "zero"))
            if progress:
                progress()
    return out


def plot(rows: list[BenchRow], path) -> None:
    """Cycles per query against D, one line per core (log scale: cores differ by 100×)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for core in dict.fromkeys(r.core for r in rows):
        mine = [r for r in rows if r.core == core]
        line, = ax.plot([r.dims for r in mine], [r.cycles for r in mine], marker="o", label=f"{core} ({mine[0].target})")
        ax.plot([r.dims for r in mine], [r.baseline_cycles for r in mine], ls=":", color=line.get_color(), alpha=0.7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("D (8-bit code dims)")
    ax.set_ylabel(f"cycles per query (N = {rows[0].rows} rows, top-1 l1)")
    ax.set_title("Cost per query: generated kernel (solid) vs baseline (dotted)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
