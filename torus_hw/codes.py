"""The codes file: the one on-disk format every tool reads and writes.

An ``.npz`` holding

=================  ==========================================================
``database``       N×D codes, uint8 for n ≤ 8, uint16 for n = 16, unpacked
``queries``        Q×D codes, same dtype and D
``bits``           scalar int, one of 1, 4, 8, 16
``format_version`` scalar int, 1
``database_labels`` optional int64[N]
``query_labels``   optional int64[Q]
``source``         optional JSON string describing the model that made them
=================  ==========================================================

Writes are atomic (:func:`torus_hw.output.atomic_write`); loading validates
every field and raises :class:`TorusInputError` naming it.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TorusInputError
from .output import atomic_write
from .output import check_output_file as check_writable  # noqa: F401 - the old name, kept for callers
from .reference import BITS, code_dtype

FORMAT_VERSION = 1


@dataclass
class TorusCodes:
    """Quantised database and query codes plus their labels and provenance."""

    database: np.ndarray
    queries: np.ndarray
    bits: int
    database_labels: np.ndarray | None = None
    query_labels: np.ndarray | None = None
    source: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def dims(self) -> int:
        return int(self.database.shape[1])

    def validate(self) -> None:
        if isinstance(self.bits, bool) or int(self.bits) not in BITS:
            raise TorusInputError(f"codes field 'bits' must be one of {', '.join(map(str, BITS))}, got {self.bits!r}")
        self.bits = int(self.bits)
        want = code_dtype(self.bits)
        for name in ("database", "queries"):
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray):
                raise TorusInputError(f"codes field '{name}' must be an array")
            if arr.ndim != 2:
                raise TorusInputError(f"codes field '{name}' must have rank 2, got shape {arr.shape}")
            if arr.dtype != want:
                raise TorusInputError(f"codes field '{name}' must be {want} for bits={self.bits}, got {arr.dtype}")
            if arr.size and int(arr.max()) >= 1 << self.bits:
                raise TorusInputError(
                    f"codes field '{name}' holds {int(arr.max())}, not below 2^{self.bits} for bits={self.bits}"
                )
        if self.database.shape[1] < 1:
            raise TorusInputError("codes field 'database' has D=0 dims")
        if self.queries.shape[1] != self.database.shape[1]:
            raise TorusInputError(
                f"codes field 'queries' has D={self.queries.shape[1]} but 'database' has D={self.database.shape[1]}"
            )
        for name, rows in (("database_labels", self.database), ("query_labels", self.queries)):
            labels = getattr(self, name)
            if labels is None:
                continue
            if not isinstance(labels, np.ndarray) or labels.dtype != np.int64:
                raise TorusInputError(f"codes field '{name}' must be int64, got {getattr(labels, 'dtype', type(labels).__name__)}")
            if labels.shape != (rows.shape[0],):
                raise TorusInputError(f"codes field '{name}' must have shape ({rows.shape[0]},), got {labels.shape}")
        if not isinstance(self.source, dict):
            raise TorusInputError("codes field 'source' must be a JSON object")

    def save(self, path: str | os.PathLike) -> None:
        self.validate()
        arrays = {
            "database": self.database,
            "queries": self.queries,
            "bits": np.array(self.bits, dtype=np.int64),
            "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
            "source": np.array(json.dumps(self.source, sort_keys=True)),
        }
        if self.database_labels is not None:
            arrays["database_labels"] = self.database_labels
        if self.query_labels is not None:
            arrays["query_labels"] = self.query_labels
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TorusCodes":
        path = Path(path)
        if path.is_dir():
            raise TorusInputError(f"codes file {path} is a folder, not a .npz file")
        if not path.is_file():
            raise TorusInputError(f"codes file {path} does not exist")
        if not zipfile.is_zipfile(path):
            # np.load would read a lone .npy as an array (no context manager: a traceback) and
            # anything else as a pickle, with an error that suggests allow_pickle.
            raise TorusInputError(f"codes file {path} is not a readable .npz (not a zip archive: "
                                  f"truncated, or another format)")
        try:
            with np.load(path, allow_pickle=False) as npz:
                files = {name: npz[name] for name in npz.files}
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError, OSError, EOFError, KeyError) as exc:
            raise TorusInputError(f"codes file {path} is not a readable .npz ({type(exc).__name__}: {exc})") from None
        for name in ("database", "queries", "bits"):
            if name not in files:
                raise TorusInputError(f"codes file {path} has no '{name}' array")
        version = files.get("format_version")
        if (version is None or version.shape != () or version.dtype.kind not in "ui"
                or int(version) != FORMAT_VERSION):
            raise TorusInputError(f"codes file {path}: 'format_version' must be {FORMAT_VERSION}")
        bits = files["bits"]
        if bits.shape != () or bits.dtype.kind not in "ui":
            raise TorusInputError(f"codes file {path}: 'bits' must be a scalar integer")
        source = {}
        if "source" in files:
            try:
                source = json.loads(str(files["source"]))
            except json.JSONDecodeError:
                raise TorusInputError(f"codes file {path}: 'source' is not valid JSON") from None
        try:
            return cls(
                database=files["database"],
                queries=files["queries"],
                bits=int(bits),
                database_labels=files.get("database_labels"),
                query_labels=files.get("query_labels"),
                source=source,
            )
        except TorusInputError as exc:
            raise TorusInputError(f"{path}: {exc}") from None
