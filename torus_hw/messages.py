"""Words for error messages: file names made printable, OS errors and file kinds named truly.

Every ``torus-hw: error:`` line is one line: :func:`one_line` escapes control
characters (a newline or an escape sequence in a file name included) and the
CLI applies it to every message; :func:`shown` does the same for a path
inside a message.  :func:`input_file` is the one check of an input path
before it is opened, so a FIFO, ``/dev/null``, a folder, a symlink loop or an
unreadable file each gets its own message instead of "does not exist" or a
misleading parse error.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import TorusInputError

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a component of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop)",
    errno.ENAMETOOLONG: "file name too long",
    errno.EEXIST: "it already exists",
}


def one_line(text: str) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``…): always one printable line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def shown(path) -> str:
    """A path for a message: as the user typed it, with control characters escaped."""
    return one_line(os.fspath(path))


def os_reason(exc: OSError) -> str:
    """The plain-words reason of an OSError (``permission denied``, ``read-only file system``…)."""
    return _REASONS.get(exc.errno, (exc.strerror or type(exc).__name__).lower())


def _kind(mode: int) -> str:
    return ("a folder" if stat.S_ISDIR(mode) else
            "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
            "a character device" if stat.S_ISCHR(mode) else
            "a block device" if stat.S_ISBLK(mode) else
            "a socket" if stat.S_ISSOCK(mode) else
            "a regular file" if stat.S_ISREG(mode) else "a special file")


def broken_link(path) -> str:
    """Why a symlink leads nowhere: "a dangling symbolic link" or "a symbolic link loop"."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
    return "a dangling symbolic link"


def file_kind(path) -> str:
    """What is at ``path`` ("a FIFO (named pipe)", "a character device"…), following symlinks."""
    return _kind(os.stat(path).st_mode)


def input_file(path, what: str) -> Path:
    """Refuse an input path that is not a readable regular file, saying what it is instead.

    ``what`` names the role (``codes file``, ``model checkpoint``…).  The file
    is opened for reading once, so permission problems show up here and not
    as a parser's confusing complaint.
    """
    path = Path(path)
    name = shown(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise TorusInputError(f"{what} {name} is {broken_link(path)}") from None
        raise TorusInputError(f"{what} {name} does not exist") from None
    except OSError as exc:
        raise TorusInputError(f"{what} {name}: {os_reason(exc)}") from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise TorusInputError(f"{what} {name} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise TorusInputError(f"{what} {name} is {_kind(mode)}, not a regular file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise TorusInputError(f"{what} {name}: {os_reason(exc)}") from None
    return path
