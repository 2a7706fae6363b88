"""All-or-nothing output: every file a command writes appears complete, or not at all.

Two ways in, one mechanism underneath:

* :func:`atomic_write` — one file: written to a temporary file beside the
  destination, then renamed over it (``os.replace``: a reader sees the old
  file or the new one, never a mix; a symlink at the destination is replaced,
  never followed).
* :func:`output_folder` — several files: the command writes them all into a
  *staging* folder and, only once every one is complete, the folder is
  committed.  A destination folder that does not exist yet is the staging
  folder renamed into place (one atomic rename, so a refusal or a kill leaves
  no ``--out`` folder at all).  An existing destination (which may hold other
  files, e.g. ``--out .``) is staged inside itself; the commit moves each
  replaced file to a backup first, then each new file in, with SIGINT, SIGTERM
  and SIGHUP blocked for those few renames; a failure restores every backup.

Temporaries are named ``.NAME.torus-hw-tmp-PID-RANDOM`` (see :data:`TMP_MARK`):
:func:`cleanup_stale` (run before every write into a folder) removes those
whose process is gone, rolling an interrupted folder commit back from its
journal, so even a SIGKILL leaves nothing behind for long.
:func:`handle_termination` turns SIGTERM/SIGHUP into :class:`Terminated`, an
exception, so the same clean-up code runs as for Ctrl-C.

:func:`check_output_file` and :func:`check_output_folder` refuse an unusable
destination *before* the work, by the user's path and with the true reason
(folder missing, not a folder, permission denied, read-only file system);
they prove the folder writable by creating and removing a temporary.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import signal
from pathlib import Path

from .errors import TorusInputError
from .messages import broken_link, file_kind, os_reason, shown

TMP_MARK = ".torus-hw-tmp-"
_JOURNAL = ".torus-hw-journal"  # the relative paths a folder commit moves, one a line
_COMMITTED = ".torus-hw-committed"  # written once every file is in place: nothing to roll back
_BACKUP = ".torus-hw-backup"  # the replaced files, kept until the commit is done
_SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like KeyboardInterrupt so temporaries are removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def handle_termination() -> dict:
    """Make SIGTERM and SIGHUP raise :class:`Terminated`; return the previous handlers (for ``restore``)."""

    def raise_terminated(signum, frame):
        raise Terminated(signum)

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread: leave the default
                previous[sig] = signal.signal(sig, raise_terminated)
    return previous


def restore_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(sig, handler)


def _tmp_name(name: str) -> str:
    return f".{name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def _owner_alive(entry: str) -> bool:
    try:
        pid = int(entry.split(TMP_MARK, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove temporaries in ``folder`` left by torus-hw processes that no longer run.

    An interrupted folder commit is rolled back (the files it had moved in are
    replaced by their backups, or removed when they were new), so the folder
    holds exactly what it held before that run.  Returns what was removed.
    """
    folder = Path(folder)
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if TMP_MARK not in entry or not entry.startswith(".") or _owner_alive(entry):
            continue
        path = folder / entry
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                _roll_back(path, folder)
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _journal(staging: Path) -> list[str]:
    try:
        return [line for line in (staging / _JOURNAL).read_text().splitlines() if line]
    except OSError:
        return []


def _roll_back(staging: Path, dest: Path) -> None:
    """Undo a commit that stopped part-way (nothing to do once it is marked committed)."""
    if (staging / _COMMITTED).exists():
        return
    backup = staging / _BACKUP
    for rel in _journal(staging):
        if (backup / rel).exists() or (backup / rel).is_symlink():
            os.replace(backup / rel, dest / rel)  # the old file goes back, whether or not the new one came in
        elif not (staging / rel).exists():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest / rel)  # a file that is new in this commit and was moved in


def _probe(folder: Path, shown_path: str) -> None:
    """Create and remove a temporary in ``folder``: the one true test that it is writable."""
    tmp = folder / _tmp_name("probe")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        raise TorusInputError(f"cannot write {shown_path}: {os_reason(exc)} (folder {shown(folder)})") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | os.PathLike) -> Path:
    """Refuse, before the work, an output file that :func:`atomic_write` could not create."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise TorusInputError(f"cannot write {shown(path)}: it is a folder")
    if path.exists() and not path.is_symlink() and not path.is_file():
        # os.replace would swap a FIFO or a device node (/dev/null!) for a regular file.
        raise TorusInputError(f"cannot write {shown(path)}: it is {file_kind(path)}, not a regular file")
    if not folder.exists():
        raise TorusInputError(f"cannot write {shown(path)}: folder {shown(folder)} does not exist")
    if not folder.is_dir():
        raise TorusInputError(f"cannot write {shown(path)}: {shown(folder)} is not a folder")
    _probe(folder, shown(path))
    return path


def check_output_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """Refuse, before the work, an output folder that :func:`output_folder` could not fill.

    A missing folder is fine (it is created, with missing parents, at the
    commit); its nearest existing ancestor must be a writable folder.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise TorusInputError(f"{option} {shown(path)} is {broken_link(path)}")
    if path.exists() and not path.is_dir():
        raise TorusInputError(f"{option} {shown(path)} exists and is not a folder")
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise TorusInputError(f"{option} {shown(path)}: {shown(probe)} is {broken_link(probe)}")
        probe = probe.parent
    if not probe.is_dir():
        raise TorusInputError(f"{option} {shown(path)}: {shown(probe)} is not a folder")
    _probe(probe, f"{option} {shown(path)}")
    return path


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure or a signal at any point leaves no file (and no half-written
    one) behind; the destination keeps its old contents until the rename.
    """
    path = check_output_file(path)
    cleanup_stale(path.parent)
    tmp = path.parent / _tmp_name(path.name)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # the umask applies: ordinary permissions
    except OSError as exc:
        raise TorusInputError(f"cannot write {shown(path)}: {os_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def _files(root: Path) -> list[str]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            out.append(os.path.relpath(os.path.join(folder, name), root))
    return out


def _commit_into(staging: Path, dest: Path) -> None:
    """Move every staged file into the existing ``dest``; restore the old ones on failure."""
    rels = [r for r in _files(staging) if r not in (_JOURNAL, _COMMITTED)]
    (staging / _JOURNAL).write_text("".join(r + "\n" for r in rels))
    backup = staging / _BACKUP
    try:
        for rel in rels:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():
                raise TorusInputError(f"cannot write {shown(target)}: it is a folder")
            if target.exists() or target.is_symlink():
                (backup / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup / rel)
            os.replace(staging / rel, target)
        (staging / _COMMITTED).touch()
    except BaseException:
        _roll_back(staging, dest)
        raise


@contextlib.contextmanager
def output_folder(dest: str | os.PathLike, option: str = "--out"):
    """Yield a staging folder; when the block ends normally, its files become ``dest``'s.

    On an exception (a refusal, Ctrl-C, SIGTERM) the staging folder is removed
    and ``dest`` is exactly as before — and does not exist if it did not.
    Writers inside the block use plain files or :func:`atomic_write`.
    """
    dest = check_output_folder(dest, option)
    existed = dest.is_dir()
    # A missing dest (and any missing parents) appears in one rename: stage the topmost missing folder.
    top = dest
    while not existed and not top.parent.exists():
        top = top.parent
    home = dest if existed else top.parent
    cleanup_stale(home)
    staging = home / _tmp_name(top.name or "out")
    try:
        staging.mkdir()
    except OSError as exc:
        raise TorusInputError(f"cannot write {option} {shown(dest)}: {os_reason(exc)}") from None
    inner = staging if existed else staging / dest.relative_to(top)
    inner.mkdir(parents=True, exist_ok=True)
    try:
        yield inner
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # the renames run to the end or not at all
        try:
            if not existed:
                try:
                    os.rename(staging, top)  # atomic; fails if someone created a non-empty dest meanwhile
                    staging = None
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not dest.is_dir():
                        raise
            if staging is not None:
                _commit_into(inner, dest)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
