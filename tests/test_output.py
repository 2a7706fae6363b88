"""All-or-nothing output (torus_hw/output.py): refusals, failures, signals and kills leave nothing behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from torus_hw import output
from torus_hw.cli import main
from torus_hw.errors import TorusInputError
from torus_hw.output import TMP_MARK, atomic_write, check_output_folder, cleanup_stale, output_folder

ROOT = Path(__file__).resolve().parents[1]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if TMP_MARK in p.name]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_new_folder_appears_whole_and_refusal_leaves_none(tmp_path):
    dest = tmp_path / "a" / "b" / "out"
    with pytest.raises(TorusInputError):
        with output_folder(dest) as stage:
            (stage / "one").write_bytes(b"1")
            raise TorusInputError("refused half-way")
    assert not (tmp_path / "a").exists() and not temporaries(tmp_path)  # not even the missing parents
    with output_folder(dest) as stage:
        (stage / "one").write_bytes(b"1")
        (stage / "sub").mkdir()
        (stage / "sub" / "two").write_bytes(b"2")
        assert not dest.exists()  # nothing visible until the block ends
    assert tree(dest) == {"one": b"1", "sub/two": b"2"} and not temporaries(tmp_path)


def test_existing_folder_keeps_other_files_and_is_restored_on_failure(tmp_path, monkeypatch):
    dest = tmp_path / "out"
    dest.mkdir()
    for name, data in (("kernel.S", b"old S"), ("kernel.h", b"old h"), ("kernel.o", b"old o"), ("notes", b"mine")):
        (dest / name).write_bytes(data)
    before = tree(dest)
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # kernel.S and kernel.h are swapped in; the disk fills on kernel.o
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", failing_replace)
    with pytest.raises(OSError):
        with output_folder(dest) as stage:
            for name in ("kernel.S", "kernel.h", "kernel.o"):
                (stage / name).write_bytes(b"new " + name.encode())
    monkeypatch.setattr(output.os, "replace", real_replace)
    assert tree(dest) == before and not temporaries(tmp_path)
    with output_folder(dest) as stage:
        for name in ("kernel.S", "kernel.h", "kernel.o"):
            (stage / name).write_bytes(b"new " + name.encode())
    assert tree(dest) == {"kernel.S": b"new kernel.S", "kernel.h": b"new kernel.h", "kernel.o": b"new kernel.o",
                          "notes": b"mine"}


def test_a_commit_killed_half_way_is_rolled_back_by_the_next_run(tmp_path):
    """The state SIGKILL leaves between two renames: the next write into the folder undoes it."""
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "kernel.S").write_bytes(b"old S")
    (dest / "kernel.h").write_bytes(b"old h")
    staging = dest / f".out{TMP_MARK}{dead_pid()}-deadbeef"
    (staging / ".torus-hw-backup").mkdir(parents=True)
    (staging / ".torus-hw-journal").write_text("kernel.S\nkernel.h\nkernel.o\n")
    os.replace(dest / "kernel.S", staging / ".torus-hw-backup" / "kernel.S")  # moved out …
    (dest / "kernel.S").write_bytes(b"new S")  # … and the new one in; then the kill
    (staging / "kernel.h").write_bytes(b"new h")
    (staging / "kernel.o").write_bytes(b"new o")
    removed = cleanup_stale(dest)
    assert removed == [staging]
    assert tree(dest) == {"kernel.S": b"old S", "kernel.h": b"old h"}


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead = tmp_path / f".codes.npz{TMP_MARK}{dead_pid()}-0000"
    live = tmp_path / f".codes.npz{TMP_MARK}{os.getppid()}-0000"
    dead.write_bytes(b"half")
    live.write_bytes(b"someone else's, still running")
    atomic_write(tmp_path / "codes.npz", lambda fh: fh.write(b"x"))
    assert not dead.exists() and live.exists() and (tmp_path / "codes.npz").read_bytes() == b"x"


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from torus_hw.output import atomic_write, handle_termination, output_folder
    handle_termination()
    dest = Path(sys.argv[2])
    def stall(fh=None):
        if fh is not None:
            fh.write(b"partial")
        print("ready", flush=True)
        time.sleep(60)
    if sys.argv[1] == "file":
        atomic_write(dest, stall)
    else:
        with output_folder(dest) as stage:
            (stage / "kernel.S").write_bytes(b"complete")
            stall()
""")


@pytest.mark.parametrize("kind", ["file", "folder"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_write_leaves_nothing(tmp_path, kind, sig):
    dest = tmp_path / ("out.npz" if kind == "file" else "out")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(dest)], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "ready"
    assert temporaries(tmp_path)  # the write is under way
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert not dest.exists() and not temporaries(tmp_path) and not list(tmp_path.iterdir())


def test_a_sigkill_mid_write_is_cleaned_by_the_next_run(tmp_path):
    dest = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "folder", str(dest)], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait(timeout=30)
    assert temporaries(tmp_path) and not dest.exists()
    with output_folder(dest) as stage:
        (stage / "kernel.S").write_bytes(b"second run")
    assert not temporaries(tmp_path) and tree(dest) == {"kernel.S": b"second run"}


def test_gen_writes_three_files_together_and_refusals_leave_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["gen", "--target", "cortex-m4", "--kernel", "search", "--dims", "8", "--variant", "nope",
                 "--out", "k"]) == 2
    assert not (tmp_path / "k").exists() and not list(tmp_path.iterdir())
    assert main(["gen", "--target", "cortex-m4", "--kernel", "search", "--dims", "8", "--out", "k"]) == 0
    assert sorted(tree(tmp_path / "k")) == ["kernel.S", "kernel.h", "kernel.o"] and not temporaries(tmp_path)
    capsys.readouterr()


def test_rtl_refusals_leave_no_out_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for argv in (["--lanes", "4", "--bits", "8", "--dims", "8", "--k", "17"],
                 ["--lanes", "8", "--bits", "1", "--dims", "100000000"],
                 ["--lanes", "100000", "--bits", "8", "--dims", "8"]):
        assert main(["rtl", *argv, "--out", "rtl-out"]) == 2
        assert not list(tmp_path.iterdir())
    capsys.readouterr()


def test_check_output_folder_names_the_users_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(TorusInputError, match=r"^--out file exists and is not a folder$"):
        check_output_folder("file")
    with pytest.raises(TorusInputError, match=r"^--out file/sub: file is not a folder$"):
        check_output_folder("file/sub")


def test_sigterm_to_the_cli_mid_demo_leaves_no_out_folder(tmp_path):
    """The real command: `torus-hw demo` is terminated while it trains; exit 143, nothing left behind."""
    proc = subprocess.Popen([sys.executable, "-m", "torus_hw.cli", "demo", "--quick", "--out", "demo-out"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not temporaries(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # wait until the demo is writing into its staging folder
    assert temporaries(tmp_path), "the demo never started writing"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == f"torus-hw: terminated by signal {int(signal.SIGTERM)}"
    assert not list(tmp_path.iterdir())
