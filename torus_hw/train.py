"""Training: settings, the seeded SupCon (+ KoLeo) loop, and the checkpoint file.

The loop follows the paper: two augmented views per item, SupCon with the
per-space similarity rescaling, optional KoLeo with a weight, Adam, every
gradient element clipped to ±clip (default 100, the paper's), and early
stopping.  Early stopping watches query P@1 (cosine, float), as the issue
asks; with no separate validation split this makes the reported float P@1
slightly optimistic, which docs/results.md says.

Determinism: one seed drives weight initialisation (``torch.manual_seed``)
and one ``torch.Generator`` drives shuffling and augmentation; deterministic
algorithms are switched on for the run.  The same settings on CPU give a
byte-identical state dict and therefore identical codes.

The checkpoint (``torch.save`` of plain Python + tensors, written atomically,
loaded with ``weights_only=True``) records every setting, the dataset summary,
the per-epoch history and the chosen epoch; :meth:`Checkpoint.load` validates
all of it and raises :class:`TorusInputError` with one line when it is not a
torus-hw model checkpoint.
"""

from __future__ import annotations

import copy
import io
import math
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from .output import atomic_write, check_output_file
from .errors import TorusInputError
from .messages import input_file, shown
from .model_limits import MAX_BATCH, MAX_EPOCHS, MAX_SEED, check_device, check_model_size, check_state_dict
from .projections import check_dim, check_mode

CHECKPOINT_KIND = "torus-hw/model"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a trained model (data location excluded: it is not identity)."""

    mode: str = "torusN"
    dim: int = 32
    koleo: float = 0.0
    clip: float = 100.0
    epochs: int = 60
    batch: int = 256
    lr: float = 2e-3
    seed: int = 0
    data: str = "digits"
    temperature: float = 0.1
    patience: int = 15
    width: int = 256

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        from .data import check_data_name

        check_mode(self.mode)
        check_dim(self.mode, self.dim)
        check_data_name(self.data)

        def number(name, lo, *, integer=False, strict=False, hi=None, why=""):
            v = getattr(self, name)
            kinds = (int,) if integer else (int, float)
            if isinstance(v, bool) or not isinstance(v, kinds) or not math.isfinite(v) or v < lo or (strict and v == lo):
                rel = ">" if strict else "≥"
                raise TorusInputError(f"{name} must be a finite {'integer' if integer else 'number'} {rel} {lo}, got {v!r}")
            if hi is not None and v > hi:
                raise TorusInputError(f"{name} must be at most {hi:,}{why}, got {v!r}")

        number("koleo", 0)
        number("clip", 0)
        number("epochs", 1, integer=True, hi=MAX_EPOCHS)
        number("batch", 2, integer=True, hi=MAX_BATCH, why=" (SupCon's (2·batch)² similarity matrix)")
        number("lr", 0, strict=True)
        number("seed", 0, integer=True, hi=MAX_SEED, why=" = 2^64 − 1 (torch's seed range)")
        number("temperature", 0, strict=True)
        number("patience", 1, integer=True, hi=MAX_EPOCHS)
        number("width", 1, integer=True)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d) -> "TrainSettings":
        if not isinstance(d, dict):
            raise TorusInputError("checkpoint 'settings' must be a mapping")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        missing = sorted(names - set(d))
        if unknown or missing:
            raise TorusInputError(f"checkpoint 'settings' has unknown {unknown} / missing {missing} fields")
        return cls(**d)


@dataclass
class Checkpoint:
    settings: TrainSettings
    state_dict: dict
    dataset: dict
    history: list = field(default_factory=list)
    best_epoch: int = 0
    p_at_1: float = 0.0
    stopped: str = "epochs"  # "epochs", "early" or "diverged"

    def model(self):
        """The trained model on CPU in eval mode."""
        model = _build_model(self.settings, self.dataset)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except (RuntimeError, KeyError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TorusInputError(f"checkpoint weights do not fit its settings ({first})") from None
        return model.eval()

    def to_dict(self) -> dict:
        return {
            "kind": CHECKPOINT_KIND,
            "format_version": CHECKPOINT_VERSION,
            "settings": self.settings.to_dict(),
            "state_dict": self.state_dict,
            "dataset": self.dataset,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "p_at_1": self.p_at_1,
            "stopped": self.stopped,
        }

    def save(self, path: str | os.PathLike) -> None:
        buf = io.BytesIO()
        torch.save(self.to_dict(), buf)
        atomic_write(path, lambda fh: fh.write(buf.getvalue()))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Checkpoint":
        path = input_file(path, "model checkpoint")
        where = shown(path)
        try:
            with warnings.catch_warnings():  # torch warns (many lines) about odd pickle protocols: one line here
                warnings.simplefilter("ignore")
                obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a bad file
            raise TorusInputError(f"{where} is not a readable torch checkpoint ({type(exc).__name__})") from None
        if not isinstance(obj, dict) or obj.get("kind") != CHECKPOINT_KIND:
            got = obj.get("kind") if isinstance(obj, dict) else type(obj).__name__
            raise TorusInputError(f"{where} is not a torus-hw model checkpoint (kind {got!r}, want {CHECKPOINT_KIND!r})")
        if obj.get("format_version") != CHECKPOINT_VERSION:
            raise TorusInputError(f"{where}: checkpoint format_version must be {CHECKPOINT_VERSION}, got {obj.get('format_version')!r}")
        for name, kind in (("state_dict", dict), ("dataset", dict), ("history", list)):
            if not isinstance(obj.get(name), kind):
                raise TorusInputError(f"{where}: checkpoint field '{name}' is missing or not a {kind.__name__}")
        try:
            settings = TrainSettings.from_dict(obj.get("settings"))
            ckpt = cls(settings=settings, state_dict=obj["state_dict"], dataset=obj["dataset"],
                       history=obj["history"], best_epoch=int(obj.get("best_epoch", 0)),
                       p_at_1=float(obj.get("p_at_1", 0.0)), stopped=str(obj.get("stopped", "epochs")))
            kind, shape = _dataset_shape(ckpt.dataset)
            check_state_dict(settings, kind, shape, ckpt.state_dict)  # on the meta device: no allocation
            ckpt.model()  # proves the weights load
        except TorusInputError as exc:
            raise TorusInputError(f"{where}: {exc}") from None
        return ckpt


def _dataset_shape(dataset: dict) -> tuple[str, tuple[int, ...]]:
    from .model_limits import check_input_shape

    try:
        kind, shape = dataset["kind"], dataset["input_shape"]
    except (KeyError, TypeError):
        raise TorusInputError("checkpoint 'dataset' lacks kind / input_shape") from None
    return kind, check_input_shape(kind, shape)


def _build_model(settings: TrainSettings, dataset: dict):
    from .backbones import EmbeddingModel

    kind, shape = _dataset_shape(dataset)
    return EmbeddingModel(kind=kind, input_shape=shape, mode=settings.mode, dim=settings.dim, width=settings.width)


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return check_device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def embed(model, x: np.ndarray, *, device=None, batch: int = 1024, raw: bool = False) -> np.ndarray:
    """Projected (or raw, pre-projection) embeddings of inputs, float64 on CPU."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(x), batch):
        xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch])).to(device)
        out.append((model.raw(xb) if raw else model(xb)).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def train_model(settings: TrainSettings | None = None, out: str | os.PathLike | None = None, *,
                data_root: str | os.PathLike | None = None, progress: bool = False,
                device: str | None = None, reuse: bool = False, max_params: int | None = None) -> Checkpoint:
    """Train (or, with ``reuse``, load a checkpoint at ``out`` whose settings match) and save to ``out``."""
    from .data import load_dataset

    settings = settings or TrainSettings()
    if reuse and out is not None and Path(out).is_file():
        try:
            cached = Checkpoint.load(out)
        except TorusInputError:
            cached = None
        if cached is not None and cached.settings == settings:
            return cached
    if out is not None:
        # Fail before minutes of training, not after.
        check_output_file(out)
    dev = pick_device(device)  # a bad --device is refused before the data loads
    data = load_dataset(settings.data, data_root)
    check_model_size(settings, data.kind, data.input_shape, max_params)  # on the meta device, before building
    prev_det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    # fork_rng: seeding for this run must not reset the caller's global RNG stream.
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        try:
            return _train(settings, out, data, dev, progress)
        finally:
            torch.use_deterministic_algorithms(prev_det)


def _train(settings: TrainSettings, out, data, dev, progress: bool) -> Checkpoint:
    from .data import augment
    from .evaluate import cosine_p_at_1
    from .losses import clip_gradients, koleo_views, supcon_loss

    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = _build_model(settings, data.summary())
    x_db = torch.from_numpy(data.x_db)
    y_db = torch.from_numpy(data.y_db)
    model.set_standardisation(x_db, data.kind)
    feature_std = x_db.std(0) if data.kind == "vector" else None
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)

    def query_p1() -> float:
        db = embed(model, data.x_db, device=dev)
        q = embed(model, data.x_query, device=dev)
        return cosine_p_at_1(db, data.y_db, q, data.y_query)

    best_p1 = query_p1()
    best_state = copy.deepcopy(model.state_dict())
    best_epoch, stopped = 0, "epochs"
    history = [{"epoch": 0, "loss": None, "p_at_1": best_p1}]
    n = len(y_db)
    with _Progress(progress, settings) as bar:
        for epoch in range(1, settings.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=gen)
            total, count = 0.0, 0
            for start in range(0, n, settings.batch):
                idx = order[start : start + settings.batch]
                if len(idx) < 2:  # KoLeo needs a neighbour
                    continue
                xb, yb = x_db[idx], y_db[idx]
                views = torch.stack([augment(xb, data.kind, gen, feature_std) for _ in range(2)], 1)
                b = len(idx)
                feats = model(views.flatten(0, 1).to(dev)).view(b, 2, -1)
                loss = supcon_loss(feats, yb.to(dev), mode=settings.mode, dim=settings.dim,
                                   temperature=settings.temperature)
                if settings.koleo > 0:
                    loss = loss + settings.koleo * koleo_views(feats)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                clip_gradients(model.parameters(), settings.clip)
                opt.step()
                total += loss.item() * b
                count += b
            mean_loss = total / max(count, 1)
            if not math.isfinite(mean_loss):
                history.append({"epoch": epoch, "loss": None, "p_at_1": None})
                stopped = "diverged"
                bar.update(epoch, float("nan"), float("nan"), best_p1)
                break
            p1 = query_p1()
            history.append({"epoch": epoch, "loss": mean_loss, "p_at_1": p1})
            if p1 > best_p1:
                best_p1, best_epoch = p1, epoch
                best_state = copy.deepcopy(model.state_dict())
            bar.update(epoch, mean_loss, p1, best_p1)
            if epoch - best_epoch >= settings.patience:
                stopped = "early"
                break

    state = {k: v.detach().cpu().clone() for k, v in best_state.items()}
    ckpt = Checkpoint(settings=settings, state_dict=state, dataset=data.summary(), history=history,
                      best_epoch=best_epoch, p_at_1=float(best_p1), stopped=stopped)
    if out is not None:
        ckpt.save(out)
    return ckpt


def ensure_model(settings: TrainSettings | None, path: str | os.PathLike, **kw) -> Checkpoint:
    """The demo's entry point: reuse ``path`` if its settings match, else train and save there."""
    return train_model(settings, path, reuse=True, **kw)


class _Progress:
    """A rich progress bar on stderr (stdout stays clean for --json), or nothing."""

    def __init__(self, enabled: bool, settings: TrainSettings):
        self.enabled, self.settings = enabled, settings

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            s = self.settings
            self.progress = Progress(
                TextColumn(f"[bold]{s.mode} D={s.dim} koleo={s.koleo:g} seed={s.seed}"), BarColumn(),
                MofNCompleteColumn(), TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                console=Console(stderr=True), transient=False,
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("train", total=s.epochs, stats="")
        return self

    def update(self, epoch, loss, p1, best):
        if self.enabled:
            self.progress.update(self.task, completed=epoch,
                                 stats=f"loss {loss:.3f}  P@1 {p1:.3f}  best {best:.3f}")

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.__exit__(*exc)
        return False
