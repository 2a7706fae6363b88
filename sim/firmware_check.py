"""What a firmware image printed, checked line by line against the reference.

The firmware protocol (docs/firmware.md): one JSON object per query and k,
``{"query": i, "k": k, "indices": [...], "distances": [...]}``, in query
order and, per query, in the order of the project's k list, then
``{"done": true}`` and nothing after it.  :func:`check_output` parses that
text and compares every answer with :func:`torus_hw.reference.search`
(top-``min(k, k_max, n)``, ties to the lower row), whichever way it was run:
booted in Unicorn (sim/boot.py), on QEMU, or in DOSBox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from torus_hw.reference import search


@dataclass
class FirmwareCheck:
    answers: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.answers > 0 and not self.mismatches


def check_output(text: str, database, queries, *, bits: int, metric: str, k_max: int, ks: list[int]) -> FirmwareCheck:
    """Every line of ``text`` against the reference; problems are listed, never raised."""
    database, queries = np.asarray(database), np.asarray(queries)
    top = min(max(min(k, k_max) for k in ks), len(database))
    ref_idx, ref_dist = search(queries, database, bits=bits, metric=metric, k=max(top, 1))
    want = [(q, k) for q in range(len(queries)) for k in ks]
    lines = text.splitlines()
    result = FirmwareCheck()
    if not lines or lines[-1].strip() != '{"done": true}':
        result.mismatches.append(f"the last line is not {{\"done\": true}}: {lines[-1:]!r}")
    body = lines[:-1] if lines and lines[-1].strip() == '{"done": true}' else lines
    if len(body) != len(want):
        result.mismatches.append(f"{len(body)} answer lines, expected {len(want)} (queries x k)")
    for line, (q, k) in zip(body, want):
        try:
            got = json.loads(line)
        except json.JSONDecodeError:
            result.mismatches.append(f"not JSON: {line[:120]!r}")
            continue
        kk = min(k, k_max, len(database))
        expect = {"query": q, "k": k, "indices": ref_idx[q, :kk].tolist(), "distances": ref_dist[q, :kk].tolist()}
        result.answers += 1
        if got != expect:
            result.mismatches.append(f"query {q} k={k}: got {got}, reference {expect}")
    return result
