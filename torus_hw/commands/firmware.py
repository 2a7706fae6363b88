"""``torus-hw firmware`` and ``torus-hw export --format c``: codes packed for a kernel, as source.

``firmware`` writes a complete buildable project for one board (firmware/project.py);
``export --format c`` writes only ``NAME.h`` + ``NAME.c`` (torus_hw/c_export.py),
packed for a kernel given by ``--target`` (generated here) or by a kernel header
that ``gen``/``firmware`` wrote (``--kernel-layout FILE.h``).  Every check runs
before anything is written, and the files appear together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .kernels import target_choices  # the one registry's targets

DEFAULT_K = 5


def register(sub) -> None:
    from firmware.boards import BOARDS

    p = sub.add_parser(
        "firmware", help="write a buildable firmware project that runs the search kernel on a board",
        description="Write DIR with the kernel, the database and queries packed for it, main.c (a .COM driver for "
                    "dos), startup code, a linker script from the board's memory map and one Makefile: "
                    "`make -C DIR gnu` / `clang` build DIR/build/firmware.elf (dos: DIR/build/FW.COM) with -Os "
                    "-ffunction-sections -fdata-sections -Wl,--gc-sections; `make -C DIR qemu` runs the GNU build "
                    "on QEMU (dos: DOSBox). The firmware prints one JSON line per query and k, then "
                    '{"done": true}.')
    p.add_argument("--target", required=True, help=f"one of {', '.join(target_choices())}")
    p.add_argument("--codes", required=True, metavar="FILE.npz")
    p.add_argument("--out", required=True, metavar="DIR", help="project folder (created, or its files replaced)")
    p.add_argument("--board", default=None, help=f"one of {', '.join(BOARDS)} (default: the target's first board)")
    p.add_argument("--k", type=int, default=DEFAULT_K, help=f"the kernel's k_max; the firmware asks for k = 1 and "
                                                            f"k = K (default {DEFAULT_K}, at most 16)")
    p.add_argument("--queries", type=int, default=None, help="embed only the first Q queries")
    p.add_argument("--metric", default="l1", help="l1 or l2 (default l1)")
    p.add_argument("--symbol", default=None, help="the kernel's C symbol (default from the spec, e.g. torus_search_l1_u8_d16_k5)")
    p.add_argument("--variant", default=None, help="a generator variant (default: the target's fastest)")
    p.set_defaults(func=run_firmware)


def add_export_c_arguments(p) -> None:
    """The options of ``export`` for ``--format c`` (called from commands/model.py)."""
    p.add_argument("--format", choices=("npz", "c"), default=None,
                   help="npz (a codes file) or c (NAME.h + NAME.c packed for a kernel); default from --out's suffix")
    p.add_argument("--codes", default=None, metavar="FILE.npz", help="--format c: export this codes file "
                                                                    "instead of a model")
    p.add_argument("--target", default=None, help="--format c: pack for this target's search kernel")
    p.add_argument("--kernel-layout", default=None, metavar="KERNEL.h",
                   help="--format c: pack for the kernel of this header (written by gen or firmware)")
    p.add_argument("--metric", default="l1", help="--format c with --target: l1 or l2 (default l1)")
    p.add_argument("--k", type=int, default=DEFAULT_K, help=f"--format c with --target: k_max (default {DEFAULT_K})")
    p.add_argument("--symbol", default=None, help="--format c with --target: the kernel's symbol")
    p.add_argument("--no-queries", action="store_true", help="--format c: leave the queries out")
    p.add_argument("--labels", action="store_true", help="--format c: also export the labels")


def export_format(args) -> str:
    """The format ``export`` writes: --format, else --out's suffix; a contradiction is refused."""
    from ..errors import TorusInputError

    suffix = Path(args.out).suffix.lower()
    by_suffix = {".h": "c", ".c": "c", ".npz": "npz"}.get(suffix)
    fmt = args.format or by_suffix or "npz"
    if fmt == "c" and suffix not in (".h", ".c"):
        raise TorusInputError(f"--format c writes NAME.h and NAME.c: --out must end in .h or .c, got {args.out!r}")
    if fmt == "npz" and by_suffix == "c":
        raise TorusInputError(f"--out {args.out} ends in {suffix} but --format npz writes a codes file (.npz); "
                              f"use --format c for C source")
    if fmt == "npz" and args.codes is not None:
        raise TorusInputError("--codes is for --format c; a codes file is already in npz format")
    if fmt == "npz" and args.model is None:
        raise TorusInputError("export needs --model (or --codes with --format c)")
    return fmt


@dataclass(frozen=True)
class HeaderLayout:
    """A kernel layout read back from a kernel header (the macros firmware/header.py writes)."""

    symbol: str
    dims: int
    bits: int
    stride: int
    align: int


def read_kernel_layout(path: str) -> HeaderLayout:
    from ..errors import TorusInputError
    from ..messages import input_file

    source = input_file(path, "kernel header")
    text = Path(source).read_text(errors="replace")
    values = {}
    for field in ("DIMS", "BITS", "ROW_STRIDE", "ROW_ALIGN"):
        m = re.search(rf"#define\s+(\w+)_{field}\s+(\d+)u", text)
        if not m:
            raise TorusInputError(f"--kernel-layout {path}: not a torus-hw kernel header (no *_{field} macro)")
        values[field] = (m.group(1), int(m.group(2)))
    prefixes = {prefix for prefix, _ in values.values()}
    if len(prefixes) != 1:
        raise TorusInputError(f"--kernel-layout {path}: macros of several kernels ({', '.join(sorted(prefixes))})")
    m = re.search(r"^(?:uint32_t|void)\s+(?:\w+_CDECL\s+)?(\w+)\(", text, re.M)
    if not m or m.group(1).upper() != prefixes.pop():
        raise TorusInputError(f"--kernel-layout {path}: no kernel prototype matching its macros")
    return HeaderLayout(m.group(1), values["DIMS"][1], values["BITS"][1], values["ROW_STRIDE"][1],
                        values["ROW_ALIGN"][1])


def _kernel(target: str, codes, metric: str, k: int, symbol: str | None, variant: str | None = None):
    from isa.build import build_kernel
    from isa.spec import KernelSpec

    from ..c_export import check_c_identifier

    if symbol is not None:
        check_c_identifier(symbol)
    spec = KernelSpec("search", metric, codes.bits, codes.dims, k)
    return build_kernel(target, spec, variant=variant, symbol=symbol or spec.symbol_name())


def run_export_c(args) -> int:
    from firmware.header import header_name, macro_prefix

    from ..c_export import KernelTie, c_export, check_c_identifier, pack_export
    from ..codes import TorusCodes
    from ..errors import TorusInputError
    from ..output import check_output_file, output_folder

    out = Path(args.out)
    name = check_c_identifier(out.stem, "output name")
    for suffix in (".h", ".c"):
        check_output_file(out.with_suffix(suffix))
    if (args.target is None) == (args.kernel_layout is None):
        raise TorusInputError("--format c needs the kernel to pack for: --target T or --kernel-layout KERNEL.h")
    if args.codes is not None and args.model is not None:
        raise TorusInputError("give --model or --codes, not both")
    if args.codes is None and args.model is None:
        raise TorusInputError("export --format c needs --codes FILE.npz or --model MODEL.pt")
    if args.kernel_layout is not None:
        layout = read_kernel_layout(args.kernel_layout)
        symbol = layout.symbol
    else:
        layout = symbol = None
    if args.codes is not None:
        codes = TorusCodes.load(args.codes)
    else:
        from ..export import export_codes
        from ..train import Checkpoint

        codes = export_codes(Checkpoint.load(args.model), args.bits, args.grid, data_root=args.data_root)
    if layout is None:
        kernel = _kernel(args.target, codes, args.metric, args.k, args.symbol).kernel
        layout, symbol = kernel.layout, kernel.symbol
    packed = pack_export(name, layout, codes.database, None if args.no_queries else codes.queries,
                         codes.database_labels if args.labels else None,
                         codes.query_labels if args.labels else None, bits=codes.bits)
    files = c_export(packed, KernelTie(header_name(symbol), macro_prefix(symbol)))
    folder = out.parent if str(out.parent) else Path(".")
    with output_folder(folder) as stage:
        for fname, text in files.items():
            (stage / fname).write_text(text)
    print(f"{folder / (name + '.h')}, {name}.c: {packed.rows} rows"
          f"{'' if packed.queries is None else f' + {len(packed.queries)} queries'} x {packed.dims} dims x "
          f"{packed.bits} bits, stride {packed.stride} B, align {packed.align} B, for {header_name(symbol)}")
    return 0


def run_firmware(args) -> int:
    from firmware.boards import get_board
    from firmware.project import DB_NAME, image_name, project_files
    from sim.search_run import select_queries
    from sim.stack import measure_stack

    from ..c_export import pack_export
    from ..codes import TorusCodes
    from ..errors import TorusInputError
    from ..output import check_output_folder, output_folder

    choices = target_choices()
    if args.target not in choices:
        raise TorusInputError(f"unknown target {args.target!r}; choose one of {', '.join(choices)}")
    board = get_board(args.board, args.target)
    out = check_output_folder(args.out)
    codes = TorusCodes.load(args.codes)
    ids = select_queries(len(codes.queries), args.queries)
    if not ids:
        raise TorusInputError("the codes file has no queries for the firmware to run")
    built = _kernel(args.target, codes, args.metric, args.k, args.symbol, args.variant)
    packed = pack_export(DB_NAME, built.kernel.layout, codes.database, codes.queries[ids], bits=codes.bits)
    from firmware.project import check_fits

    check_fits(board, packed, built.code_bytes)  # before the emulation below
    files = project_files(board, built, packed, sorted({1, args.k}), stack_bytes=measure_stack(built))
    with output_folder(out) as stage:
        for name, text in files.items():
            (stage / name).write_text(text)
    print(f"{out}: {board.name} ({board.description}) project for {built.kernel.symbol}, {packed.rows} rows x "
          f"{len(ids)} queries; make -C {out} gnu|clang builds build/{image_name(board)}, make -C {out} qemu runs it")
    return 0
