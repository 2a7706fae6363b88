"""Every registered cycle model against the published figures it claims.

A model states its claims as data (``CycleModel.published``: a listing, the
total the cited table gives, and where it says so); this test runs each
listing through the ``torus-hw cycles`` engine on that model.  A model with
no claims of its own must have a test module of its own that names it.
"""

from pathlib import Path

import pytest

from sim.cycles import models
from sim.listing import estimate

CLAIMS = [(core, i) for core, model in models().items() for i in range(len(model.published))]


@pytest.mark.parametrize("core, i", CLAIMS)
def test_model_gives_the_published_figure(core, i):
    listing, cycles, where = models()[core].published[i]
    assert estimate(core, listing).total_cycles == cycles, f"{core}: {listing!r} should take {cycles} ({where})"


def test_every_model_is_checked_against_published_figures():
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_cycles_*.py"))
    untested = [core for core, model in models().items() if not model.published and f'"{core}"' not in tests]
    assert not untested, f"cycle models with neither published claims nor a test module: {untested}"
