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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TorusInputError
from .messages import shown
from .output import atomic_write
from .output import check_output_file as check_writable  # noqa: F401 - the old name, kept for callers
from .reference import BITS, code_dtype

FORMAT_VERSION = 1
MEMBERS = ("database", "queries", "bits", "format_version", "database_labels", "query_labels", "source")
# Limits on what a codes file may hold (docs/errors.md "Limits"); arrays beyond MAX_CODES_BYTES need
# --max-codes-bytes, because loading them takes that much memory before any search starts.
MAX_CODES_BYTES = 4 << 30
MAX_SOURCE_CHARS = 1 << 20
MAX_SOURCE_DEPTH = 32


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
    def load(cls, path: str | os.PathLike, *, max_bytes: int | None = None) -> "TorusCodes":
        """Read and validate a codes file; ``max_bytes`` (default :data:`MAX_CODES_BYTES`) bounds its arrays."""
        from .npzfile import json_depth, read_npz

        path = Path(path)
        name = shown(path)
        files = read_npz(path, "codes file", wanted=MEMBERS, limit=MAX_CODES_BYTES if max_bytes is None else max_bytes,
                         limit_option="--max-codes-bytes")
        for field_name in ("database", "queries", "bits"):
            if field_name not in files:
                raise TorusInputError(f"codes file {name} has no '{field_name}' array")
        version = files.get("format_version")
        if (version is None or version.shape != () or version.dtype.kind not in "ui"
                or int(version) != FORMAT_VERSION):
            raise TorusInputError(f"codes file {name}: 'format_version' must be {FORMAT_VERSION}")
        bits = files["bits"]
        if bits.shape != () or bits.dtype.kind not in "ui":
            raise TorusInputError(f"codes file {name}: 'bits' must be a scalar integer")
        source = {}
        if "source" in files:
            text = files["source"]
            if text.shape != () or text.dtype.kind != "U":
                raise TorusInputError(f"codes file {name}: 'source' must be one JSON string")
            text = str(text)
            if len(text) > MAX_SOURCE_CHARS:
                raise TorusInputError(f"codes file {name}: 'source' is {len(text)} characters, "
                                      f"beyond the limit of {MAX_SOURCE_CHARS}")
            if json_depth(text) > MAX_SOURCE_DEPTH:
                raise TorusInputError(f"codes file {name}: 'source' nests deeper than {MAX_SOURCE_DEPTH} levels")
            try:
                source = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                raise TorusInputError(f"codes file {name}: 'source' is not valid JSON") from None
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
            raise TorusInputError(f"{name}: {exc}") from None
