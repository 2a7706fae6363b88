"""``torus-hw train | export | evaluate``: the model side of the pipeline.

torch, sklearn and faiss are imported inside the command functions only, so
``torus-hw --help`` stays fast.
"""

from __future__ import annotations

from ..console import console as stdout_console
from ..option_limits import positive_int

import json

BITS_CHOICES = (1, 4, 8, 16)

# Mirrors torus_hw.train.TrainSettings() so that building the parser needs no
# torch; tests/test_commands_model.py fails if the two ever drift apart.
TRAIN_DEFAULTS = dict(mode="torusN", dim=32, koleo=0.0, clip=100.0, epochs=60, batch=256, lr=2e-3, seed=0,
                      data="digits", temperature=0.1, patience=15, width=256)


def register(sub) -> None:
    from types import SimpleNamespace

    d = SimpleNamespace(**TRAIN_DEFAULTS)
    p = sub.add_parser(
        "train", help="train a torusN / torusC / sphere embedding with SupCon (+ KoLeo)",
        description="Train an embedding with supervised contrastive loss on two augmented views, optional KoLeo, "
                    "gradient clipping by value and early stopping on query P@1; save a checkpoint recording "
                    "every setting. Same seed on CPU gives an identical checkpoint.")
    p.add_argument("--mode", default=d.mode, help="torusN (default), torusC or sphere")
    p.add_argument("--dim", type=int, default=d.dim, help=f"head output width D before projection (default {d.dim}; "
                                                         "torusN needs it even and gives D/2 codes)")
    p.add_argument("--koleo", type=float, default=d.koleo, help=f"KoLeo weight (default {d.koleo:g})")
    p.add_argument("--clip", type=float, default=d.clip, help=f"clip every gradient element to ±CLIP, 0 = off (default {d.clip:g}, the paper's)")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"epoch budget (default {d.epochs})")
    p.add_argument("--patience", type=int, default=d.patience, help=f"stop after this many epochs without a better query P@1 (default {d.patience})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"items per batch, two views each (default {d.batch})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr:g})")
    p.add_argument("--temperature", type=float, default=d.temperature, help=f"SupCon temperature (default {d.temperature:g})")
    p.add_argument("--width", type=int, default=d.width, help=f"MLP width; CNN channels are width/4 (default {d.width})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed for weights, shuffling and augmentation (default {d.seed})")
    _data_args(p, with_name=True)
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu; determinism is promised on cpu)")
    p.add_argument("--max-params", type=positive_int, default=None, metavar="N",
                   help="refuse a model of more than N parameters (default 2^27 = 134,217,728; docs/errors.md)")
    p.add_argument("--reuse", action="store_true", help="keep --out as is if it already holds a model with these exact settings")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="MODEL.pt", help="checkpoint to write (atomically)")
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "export", help="quantise a trained model's database and queries into a codes file",
        description="Write a codes file (torus_hw/codes.py): database = training split, queries = query split. "
                    "torusN and torusC use the fixed flat-torus grid; the sphere uses the paper's min-max grid "
                    "(sign at 1 bit). --grid minmax reproduces the paper code's per-dim grid for the tori.")
    p.add_argument("--model", required=True, metavar="MODEL.pt")
    p.add_argument("--bits", type=int, choices=BITS_CHOICES, default=8, help="bits per code (default 8)")
    p.add_argument("--grid", choices=("auto", "fixed", "minmax"), default="auto",
                   help="auto (default): fixed for the tori, min-max (or sign at 1 bit) for the sphere")
    _data_args(p, with_name=False)
    p.add_argument("--out", required=True, metavar="CODES.npz", help="codes file to write (atomically)")
    p.set_defaults(func=run_export)

    p = sub.add_parser(
        "evaluate", help="P@1 in float and quantised, circular variance, code entropy, optional PQ",
        description="Retrieval P@1 of the queries against the database: cosine in float; torus l1/l2 on the "
                    "codes with the NumPy reference (Hamming at 1 bit); optional faiss PQ(M,nbits).")
    p.add_argument("--model", required=True, metavar="MODEL.pt")
    p.add_argument("--bits", type=int, nargs="+", choices=BITS_CHOICES, default=[8, 4, 1],
                   help="code widths to evaluate (default 8 4 1)")
    p.add_argument("--grid", choices=("auto", "fixed", "minmax"), default="auto")
    p.add_argument("--pq", nargs="*", metavar="M,NBITS", default=None,
                   help="also evaluate faiss PQ(M,nbits) on the 8-bit codes; no value = the paper's 2,8 1,8 4,4 2,4")
    _data_args(p, with_name=False)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_evaluate)


def _data_args(p, *, with_name: bool) -> None:
    if with_name:
        p.add_argument("--data", default=TRAIN_DEFAULTS["data"],
                       help="digits (default, bundled with scikit-learn), cifar10, cifar100 or FILE.npz with x and y")
    p.add_argument("--data-root", default=None, metavar="DIR",
                   help="folder holding cifar-10-batches-py / cifar-100-python (default $TORUS_HW_DATA or ./data)")


def run_train(args) -> int:
    import time

    from ..train import TrainSettings, train_model

    settings = TrainSettings(mode=args.mode, dim=args.dim, koleo=args.koleo, clip=args.clip, epochs=args.epochs,
                             batch=args.batch, lr=args.lr, seed=args.seed, data=args.data,
                             temperature=args.temperature, patience=args.patience, width=args.width)
    t0 = time.perf_counter()
    ckpt = train_model(settings, args.out, data_root=args.data_root, progress=not args.no_progress,
                       device=args.device, reuse=args.reuse, max_params=args.max_params)
    epochs = len(ckpt.history) - 1
    print(f"{args.out}: {settings.mode} D={settings.dim} koleo={settings.koleo:g} seed={settings.seed} on "
          f"{settings.data}: query P@1 {ckpt.p_at_1:.4f} (cosine, float) at epoch {ckpt.best_epoch}; "
          f"{epochs} epochs run, stop: {ckpt.stopped}; {time.perf_counter() - t0:.1f} s")
    return 0


def run_export(args) -> int:
    from ..export import export_codes
    from ..output import check_output_file
    from ..train import Checkpoint

    check_output_file(args.out)  # refused before the model loads
    ckpt = Checkpoint.load(args.model)
    codes = export_codes(ckpt, args.bits, args.grid, data_root=args.data_root)
    codes.save(args.out)
    print(f"{args.out}: {len(codes.database)} database + {len(codes.queries)} query codes, {codes.dims} dims × "
          f"{codes.bits} bits = {codes.dims * codes.bits} bits per vector ({codes.source['grid']} grid, "
          f"{ckpt.settings.mode} D={ckpt.settings.dim})")
    return 0


def _parse_pq(values):
    from ..errors import TorusInputError
    from ..evaluate import DEFAULT_PQ

    if values is None:
        return ()
    if not values:
        return DEFAULT_PQ
    out = []
    for v in values:
        try:
            m, nbits = (int(t) for t in v.split(","))
        except ValueError:
            raise TorusInputError(f"--pq takes M,NBITS pairs such as 2,8; got {v!r}") from None
        if not (1 <= m and 1 <= nbits <= 16):
            raise TorusInputError(f"--pq {v}: need M ≥ 1 and 1 ≤ NBITS ≤ 16")
        out.append((m, nbits))
    return tuple(out)


def run_evaluate(args) -> int:
    from ..evaluate import evaluate_model
    from ..train import Checkpoint

    pq = _parse_pq(args.pq)
    ckpt = Checkpoint.load(args.model)
    r = evaluate_model(ckpt, args.bits, grid=args.grid, pq=pq, data_root=args.data_root)
    if args.json:
        print(json.dumps(r))
        return 0
    from rich.table import Table

    t = Table(title=f"{r['mode']} D={r['dim']} koleo={r['koleo']:g} seed={r['seed']} on {r['data']}: query P@1")
    plain = any("l2_plain" in q["p_at_1"] for q in r["quantised"].values())
    cols = ["codes", "grid", "dims", "bits/vec", "P@1", "P@1 l2"] + (["l2 plain"] if plain else []) + ["H/dim"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("codes", "grid") else "right")

    def row(*cells):
        cells = list(cells)
        if not plain:
            del cells[6]
        t.add_row(*cells)

    f = r["float"]
    row("float32", "cosine", str(f["dims"]), str(f["bits_per_vector"]), f"{f['p_at_1']:.4f}", "", "", "")
    for b, q in r["quantised"].items():
        p = q["p_at_1"]
        row(f"{b}-bit", q["grid"] + (" Hamming" if "hamming" in p else " l1"), str(q["code_dims"]),
            str(q["bits_per_vector"]), f"{p.get('l1', p.get('hamming')):.4f}", f"{p['l2']:.4f}" if "l2" in p else "",
            f"{p['l2_plain']:.4f}" if "l2_plain" in p else "", f"{q['entropy_per_dim_mean']:.2f}/{b}")
    for name, q in r["pq"].items():
        row(name, "faiss", "", str(q["bits_per_vector"]), f"{q['p_at_1']:.4f}", "", "", "")
    console = stdout_console()
    console.print(t)
    console.print(f"circular variance {f['circular_variance']:.3f} (1 = evenly spread); best epoch "
                  f"{r['best_epoch']}, stop: {r['stopped']}")
    return 0
