"""Memory wait states: the --wait-states parser, the presets, and how each model prices them.

The rule under test (``sim.cycles.base``): on top of the zero-wait figure an
instruction pays ``code`` for each fetch unit it needs that the instruction
before it did not bring in, and ``data`` for each data transfer; zero wait
states leave every figure as it was.
"""

import pytest

from sim.cycles import get_model, supports_wait_states
from sim.cycles.base import NO_WAIT_STATES, WaitStates
from sim.cycles.presets import PRESETS, parse_wait_states
from sim.listing import estimate
from torus_hw.errors import TorusInputError


def cycles(core: str, body: str, spec: str) -> list[int]:
    model = get_model(core, wait_states=parse_wait_states(spec))
    return [i["cycles"] for i in estimate(core, body, model=model).to_json()["instructions"]]


# --- the parser and the presets ---------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (None, NO_WAIT_STATES),
    ("zero", NO_WAIT_STATES),
    ("code=2,data=1", WaitStates(2, 1)),
    (" data = 3 ", WaitStates(0, 3)),
    ("code=5,fetch=16", WaitStates(5, 0, 16)),
    ("STM32F4-168MHZ", PRESETS["stm32f4-168mhz"]),
])
def test_parse(text, expected):
    assert parse_wait_states(text) == expected


@pytest.mark.parametrize("text, message", [
    ("fast", "not a preset"),
    ("code=one", "is not code=N"),
    ("cache=1", "is not code=N"),
    ("code=1,code=2", "given twice"),
    ("code=65", "from 0 to 64"),
    ("code=1,fetch=3", "fetch=3"),
    ("code=-1", "is not code=N"),
])
def test_parse_refuses_with_one_line(text, message):
    with pytest.raises(TorusInputError, match=message) as err:
        parse_wait_states(text)
    assert "\n" not in str(err.value)


def test_presets_round_trip_and_are_documented():
    import sim.cycles.presets as presets
    for name, ws in PRESETS.items():
        assert f"``{name}``" in presets.__doc__, name
        assert parse_wait_states(ws.describe()) == ws
    assert PRESETS["stm32f4-168mhz"] == WaitStates(code=5, data=0, fetch_bytes=16)


def test_zero_is_the_registered_model():
    for core in ("cortex-m0", "cortex-m4", "ibex", "u54", "cortex-a55"):
        assert get_model(core, wait_states=NO_WAIT_STATES) is get_model(core)


def test_cached_cores_refuse():
    for core in ("u54", "cortex-a55"):
        assert not supports_wait_states(core)
        with pytest.raises(TorusInputError, match="does not model wait states"):
            get_model(core, wait_states=WaitStates(code=1))
    assert all(supports_wait_states(c) for c in ("cortex-m0", "cortex-m4", "ibex"))


def test_configured_copy_leaves_the_registered_model_alone():
    slow = get_model("cortex-m4", wait_states=WaitStates(code=3))
    assert slow is not get_model("cortex-m4") and get_model("cortex-m4").wait_states == NO_WAIT_STATES


# --- pricing ----------------------------------------------------------------------------

M4_BODY = """\
    movs r0, #0
    ldr r1, [sp, #0]
    ldr r2, [sp, #4]
    adds r0, r0, r1
    b 1f
    nop
1:  adds r0, #1
    push {r4, r5}
    pop {r4, r5}
"""
# addresses 0, 2, 4, 6, 8, (a skipped), c, e, 0x10: the 32-bit fetch words are 0, 4, 8, c, 0x10
M4_ZERO = [1, 2, 1, 1, 3, 1, 3, 3]
M4_DATA = [0, 1, 1, 0, 0, 0, 2, 2]


def test_m4_code_and_data_wait_states():
    assert cycles("cortex-m4", M4_BODY, "zero") == M4_ZERO
    # fetch words: movs (word 0, a new run), ldr@2 (same word), ldr@4 (word 4), adds@6 (same),
    # b@8 (word 8), adds@c (jump target: word c), push@e (same), pop@0x10 (word 0x10)
    new_word = [1, 0, 1, 0, 1, 1, 0, 1]
    assert cycles("cortex-m4", M4_BODY, "code=2") == [z + 2 * w for z, w in zip(M4_ZERO, new_word)]
    assert cycles("cortex-m4", M4_BODY, "data=3") == [z + 3 * d for z, d in zip(M4_ZERO, M4_DATA)]
    # 16-byte flash lines: line 0 for the run's start and again after the jump, then pop@0x10 opens line 1
    assert cycles("cortex-m4", M4_BODY, "code=5,fetch=16") == [z + 5 * w for z, w in
                                                               zip(M4_ZERO, [1, 0, 0, 0, 0, 1, 0, 1])]


def test_m0_one_bus_for_code_and_data():
    body = " ldr r1, [r0, #0]\n ldm r0!, {r1, r2, r3}\n movs r0, #1\n"
    zero = cycles("cortex-m0", body, "zero")
    assert zero == [2, 4, 1]
    # words: ldr@0 new, ldm@2 same, movs@4 new; transfers: 1, 3, 0
    assert cycles("cortex-m0", body, "code=1,data=2") == [2 + 1 + 2, 4 + 6, 1 + 1]


def test_ibex_fetch_word_and_split_access():
    body = " addi sp, sp, -16\n sw zero, 0(sp)\n sw zero, 4(sp)\n lw a0, 2(sp)\n lw a1, 4(sp)\n"
    assert cycles("ibex", body, "zero") == [1, 2, 2, 3, 2]
    # every 32-bit instruction is a new fetch word; the split lw makes two data transactions
    assert cycles("ibex", body, "code=1,data=2") == [2, 5, 5, 8, 5]


def test_wait_states_reach_the_search_harness():
    import numpy as np

    from sim.search_run import run_search

    rng = np.random.default_rng(1)
    db = rng.integers(0, 256, (40, 8)).astype(np.uint8)
    qs = rng.integers(0, 256, (2, 8)).astype(np.uint8)
    base = run_search("cortex-m4", db, qs, bits=8, metric="l1", k=1)
    slow = run_search("cortex-m4", db, qs, bits=8, metric="l1", k=1, wait_states=WaitStates(code=1, data=1))
    assert base.mismatches == slow.mismatches == 0
    assert slow.mean("instructions") == base.mean("instructions")
    assert slow.mean("cycles") > base.mean("cycles") + base.mean("instructions") / 2
    assert slow.to_json()["wait_states"] == "code=1,data=1" and base.to_json()["wait_states"] == "zero"
    with pytest.raises(TorusInputError, match="not --target rtl"):
        run_search("rtl", db, qs, bits=8, metric="l1", k=1, wait_states=WaitStates(code=1))
    with pytest.raises(TorusInputError, match="does not model wait states"):
        run_search("aarch64", db, qs, bits=8, metric="l1", k=1, wait_states=WaitStates(code=1))


@pytest.mark.parametrize("argv", [
    ["cycles", "--core", "cortex-m0", "LISTING", "--wait-states", "code=lots"],
    ["cycles", "--core", "cortex-a55", "LISTING", "--wait-states", "code=1"],
])
def test_cli_refuses_in_one_line(argv, tmp_path, capsys):
    from torus_hw.cli import main

    listing = tmp_path / "x.S"
    listing.write_text(" movs r0, #1\n")
    assert main([str(listing) if a == "LISTING" else a for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torus-hw: error: ") and err.count("\n") == 1 and "wait states" in err.replace("-", " ")


def test_cli_cycles_with_a_preset(tmp_path, capsys):
    import json

    from torus_hw.cli import main

    listing = tmp_path / "x.S"
    listing.write_text(" movs r0, #1\n ldr r1, [sp, #0]\n")
    assert main(["cycles", "--core", "cortex-m0", str(listing), "--wait-states", "stm32f0-48mhz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cycles"] == (1 + 1) + 2
