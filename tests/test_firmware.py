

@pytest.mark.parametrize("target, skip", [("cortex-m0", "data"), ("rv32im", "bss")])
def test_a_startup_that_skips_the_data_copy_or_bss_clear_is_caught(tmp_path, target, skip):
    """The harness boots with garbage in RAM, so these pass only because the startup code does its job."""
    case = Case(target, 8, 5)
    board, db, q = write_project(case, tmp_path)
    crt0 = tmp_path / "fw_crt0.c"
    loop = "while (dst < _edata)\n        *dst++ = *src++;" if skip == "data" else \
        "for (dst = _sbss; dst < _ebss;)\n        *dst++ = 0;"
    assert loop in crt0.read_text()
    crt0.write_text(crt0.read_text().replace(loop, "(void)src;" if skip == "data" else ""))
    assert make(tmp_path, "clang").returncode == 0
    try:
        result = boot(board, get_target(target), (tmp_path / "build" / "firmware.elf").read_bytes())
    except Exception:  # a fault is as good a catch as wrong output
        return
    assert not check(case, result.stdout, db, q).ok
