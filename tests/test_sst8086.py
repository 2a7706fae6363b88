"""The 8086 bus-unit model against a real chip: SingleStepTests 8086 v1 clock-by-clock traces.

Each test: the registers, RAM and full prefetch queue of the test's start,
the instruction run under Unicorn to learn what it did, the model's schedule
played from that start; the clock count and the bus-cycle sequence (T1
clock and kind of every bus cycle) must equal the chip's.  The repository
keeps a few tests of each of the 88 opcode files the kernels execute
(tests/data/sst8086); the full 500-per-file set is read from the shared
checkout beside the repository when present: a sample per file in ``make
test``, all 44,000 in the ``long`` profile.
"""

from __future__ import annotations

import os

import pytest

from tests import sst8086

FIXTURE = sst8086.fixture()
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SAMPLE = 500 if LONG else 25   # tests per opcode file read from the shared set
SHARED_FILES = sorted(sst8086.SHARED.glob("*.json.gz")) if sst8086.SHARED.is_dir() else []
needs_shared = pytest.mark.skipif(not SHARED_FILES, reason=f"SingleStepTests 8086 subset not found at {sst8086.SHARED}")


@pytest.mark.parametrize("opcode", sorted(FIXTURE))
def test_fixture_tests_match_the_chip(opcode):
    """Every kept test: exact clocks and bus cycles (no shared checkout needed)."""
    failures = [m for m in map(sst8086.mismatch, FIXTURE[opcode]) if m]
    assert not failures, "\n".join(failures)


def test_fixture_covers_every_kernel_form():
    assert len(FIXTURE) == 88 and all(FIXTURE.values())


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=[p.name[:-8] for p in SHARED_FILES])
def test_shared_tests_match_the_chip(path):
    """A spread sample of each shared opcode file (all 500 in the long profile): exact clocks and bus cycles."""
    tests = sst8086.load(path)
    step = max(1, len(tests) // SAMPLE)
    failures = [m for m in map(sst8086.mismatch, tests[::step][:SAMPLE]) if m]
    assert not failures, f"{len(failures)} of {min(SAMPLE, len(tests))} differ:\n" + "\n".join(failures[:5])


def test_a_test_that_differs_is_reported():
    """The comparison can fail: one clock more in the chip's trace is caught and described."""
    test = dict(FIXTURE["00"][0])
    test["cycles"] = test["cycles"] + [test["cycles"][-1]]
    assert "model" in sst8086.mismatch(test)
