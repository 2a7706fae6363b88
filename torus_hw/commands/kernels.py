"""``torus-hw gen`` and ``torus-hw run``: generate kernels, run them against the reference."""

from __future__ import annotations

from ..console import console as stdout_console
from ..option_limits import positive_int

import json
import sys

DEFAULT_KERNEL = "search"  # what ``run`` runs without --kernel


def target_choices() -> list[str]:
    """The targets of ``gen`` and ``run``: the registry's (imported here, not at module level: torus_hw ← isa)."""
    from isa.targets import TARGETS

    return list(TARGETS)


def kernel_options() -> dict:
    """``run``'s kernel parameters: option name → (its isa.spec.Param, the kernels that take it), from the descriptions."""
    from isa.spec import KINDS

    options: dict = {}
    for kind in KINDS.values():
        for param in kind.params:
            options.setdefault(param.name, (param, []))[1].append(kind.name)
    return options


def register(sub) -> None:
    from isa.spec import K_MAX_LIMIT, KERNELS, KINDS

    targets = target_choices()
    g = sub.add_parser("gen", help="generate, assemble and check one kernel",
                       description="Generate a kernel for a target, assemble it with ziglang clang, check its ISA, "
                                   "and write kernel.S (--syntax nasm: kernel.asm), kernel.o and kernel.h to --out.")
    g.add_argument("--target", required=True, help=f"one of {', '.join(targets)}")
    g.add_argument("--kernel", required=True, help=f"one of {', '.join(KERNELS)}")
    g.add_argument("--metric", default="l1", help="l1 or l2 (default l1)")
    g.add_argument("--bits", type=int, default=8, help="1, 4, 8 or 16 (default 8)")
    g.add_argument("--dims", type=int, required=True, help="code dims D")
    compiled = [kind.name for kind in KINDS.values() if kind.compiled == "k"]
    g.add_argument("--k", type=int, default=1,
                   help=f"k_max for {', '.join(compiled)} (≤ {K_MAX_LIMIT}, default 1)")
    g.add_argument("--variant", default=None, help="a generator variant (default: the target's fastest)")
    g.add_argument("--symbol", default=None, metavar="NAME",
                   help="the kernel's global symbol, a C identifier (default: named after the spec, "
                        "e.g. torus_search_l1_u8_d16_k5)")
    g.add_argument("--syntax", choices=("gnu", "nasm"), default="gnu",
                   help="the source written: gnu (kernel.S, default) or nasm (kernel.asm, i8086 only: NASM "
                        "assembles it to the same bytes)")
    g.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    g.set_defaults(func=run_gen)

    kernels = "; ".join(f"{kind.name}{' (default)' if kind.name == DEFAULT_KERNEL else ''}: {kind.doc}"
                        for kind in KINDS.values())
    derived = [f"{name} ({kind.name})" for kind in KINDS.values() for name, _ in kind.from_reference]
    r = sub.add_parser("run", help=f"run a kernel ({DEFAULT_KERNEL} by default) on a codes file and compare with "
                                   "the reference",
                       description=f"Generate, assemble, check and run a kernel ({kernels}) for each query of a "
                                   "codes file under Unicorn (or the RTL unit in simulation) and compare every "
                                   "field of every answer with the NumPy reference. Exit 1 on any mismatch. With "
                                   "--json each query carries the kernel's answer fields. "
                                   + (f"The ISA kernels do not return {', '.join(derived)}: those are the "
                                      "reference's distances of the returned rows (the JSON says "
                                      "<field>_from: reference), the RTL unit's are its own." if derived else ""))
    r.add_argument("--target", required=True, help=f"one of {', '.join(targets + ['rtl'])}")
    r.add_argument("--codes", required=True, metavar="FILE.npz")
    r.add_argument("--metric", default="l1", help="l1 or l2 (default l1)")
    r.add_argument("--kernel", default=DEFAULT_KERNEL, choices=list(KINDS),
                   help=f"one of {', '.join(KINDS)} (default {DEFAULT_KERNEL})")
    for name, (param, takers) in kernel_options().items():
        r.add_argument(f"--{name}", type=int, default=None, metavar=param.metavar,
                       help=f"--kernel {', '.join(takers)}: {param.help}")
    r.add_argument("--queries", type=int, default=None, help="run only the first Q queries")
    r.add_argument("--core", default=None, help="cycle model (default: the target's core; i8086 also i8088)")
    r.add_argument("--variant", default=None, help="a generator variant (default: the target's fastest)")
    r.add_argument("--lanes", type=int, default=None, help="RTL lanes P (--target rtl only, default 8)")
    r.add_argument("--max-flipflops", type=positive_int, default=None, metavar="N",
                   help="--target rtl: refuse a unit estimated above N register bits (default 131072)")
    r.add_argument("--max-codes-bytes", type=positive_int, default=None, metavar="B",
                   help="refuse a codes file whose arrays exceed B bytes (default 4 GiB; docs/errors.md)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    from sim.cycles.presets import add_wait_states_option
    add_wait_states_option(r)
    r.set_defaults(func=run_run)


def run_gen(args) -> int:
    from pathlib import Path

    from isa.build import build_kernel, generate
    from isa.spec import KernelSpec
    from isa.targets import get_target

    from ..output import check_output_folder, output_folder

    target = get_target(args.target)
    spec = KernelSpec(args.kernel, args.metric, args.bits, args.dims, args.k)
    out = check_output_folder(args.out)  # refused before the build, by the user's path
    symbol = spec.symbol_name() if args.symbol is None else args.symbol
    # The same kernel in NASM's syntax, refused (before any work) for targets that have none.
    nasm = generate(target, spec, args.variant, symbol=symbol, dialect="nasm").asm if args.syntax == "nasm" else None
    built = build_kernel(target, spec, variant=args.variant, symbol=symbol)  # everything is built before anything is written
    kernel = built.kernel
    from firmware.header import render_header
    from isa.assembler import source_file
    from sim.stack import measure_stack

    source = ("kernel.asm", nasm) if nasm else ("kernel.S", source_file(target, kernel.asm))
    files = {source[0]: source[1].encode(), "kernel.o": built.image.obj,
             "kernel.h": render_header(kernel, measure_stack(built)).encode()}  # the stack figure is measured, not guessed
    with output_folder(out) as stage:  # the three files appear together or not at all
        for name, data in files.items():
            (stage / name).write_bytes(data)
    print(f"{target.name}: {spec.describe()} ({kernel.variant}), {built.code_bytes} code bytes, "
          f"row stride {kernel.layout.stride} B, align {kernel.layout.align} → {out}/{', '.join(files)}")
    return 0


def run_run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from sim.cycles.presets import parse_wait_states
    from sim.search_run import run_kernel, select_queries

    from ..codes import TorusCodes
    from ..errors import TorusInputError

    choices = target_choices() + ["rtl"]
    if args.target not in choices:
        raise TorusInputError(f"unknown target {args.target!r}; choose one of {', '.join(choices)}")
    wait_states = parse_wait_states(args.wait_states)
    params = _kernel_params(args)
    codes = TorusCodes.load(args.codes, max_bytes=args.max_codes_bytes)
    if args.target == "rtl":  # the unit's size before its (long) elaboration
        from sim.rtl_sim import check_rtl_size

        check_rtl_size(args.kernel, lanes=8 if args.lanes is None else args.lanes, bits=codes.bits, dims=codes.dims,
                       metric=args.metric, params=params, limit=args.max_flipflops)
    ids = select_queries(len(codes.queries), args.queries)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=args.json or not console.is_terminal) as bar:
        task = bar.add_task(f"{args.target}: searching", total=len(ids))
        common = dict(bits=codes.bits, metric=args.metric, query_ids=ids, core=args.core, variant=args.variant,
                      lanes=args.lanes, progress=lambda: bar.advance(task), wait_states=wait_states)
        run = run_kernel(args.kernel, args.target, codes.database, codes.queries, params=params, **common)
    if args.json:
        print(json.dumps(run.to_json()))
    else:
        ins, cyc = run.mean("instructions"), run.mean("cycles")
        stdout_console().print(
            f"{run.target} ({run.core}, {run.variant}): {len(ids)} queries × {len(codes.database)} rows × "
            f"{run.dims} dims, {run.bits}-bit {run.metric} "
            f"{run.kind.summary.format(**run.params)}: "
            f"{'' if ins is None else f'{ins:,.0f} instructions/query, '}"
            f"{'' if cyc is None else f'{cyc:,.0f} cycles/query, '}{run.mismatches} mismatches")
    if run.mismatches:
        print(f"torus-hw: mismatch: {run.first_mismatch()}", file=sys.stderr)
        return 1
    return 0


def _kernel_params(args) -> dict:
    """The --kernel's parameters given on the command line; refuses one it does not take, or a missing one."""
    from isa.spec import KINDS

    from ..errors import TorusInputError

    kind, params = KINDS[args.kernel], {}
    for name, (param, takers) in kernel_options().items():
        value = getattr(args, name)
        if name not in {p.name for p in kind.params}:
            if value is not None:
                raise TorusInputError(f"--{name} applies to --kernel {', '.join(takers)} only")
        elif value is None and param.default is None:
            raise TorusInputError(f"--kernel {kind.name} needs --{name} {param.metavar}")
        elif value is not None:
            params[name] = param.check_option(value)
    return params
