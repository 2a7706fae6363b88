"""Reading an ``.npz`` from a stranger: every member checked before a byte of it is allocated.

:func:`read_npz` is the one door through which codes files and ``--data``
files come in.  Before any array is read it checks, from the zip directory
and each member's ``.npy`` header alone:

* the file is a regular, readable file and a zip archive with at most
  :data:`MAX_MEMBERS` members, each stored or deflated (what NumPy writes;
  deflate cannot expand more than ~1032:1, so no member inflates beyond its
  declared size times that);
* each wanted member is a real ``.npy`` (magic, version, a header NumPy's own
  parser accepts within 10,000 bytes), of a plain numeric or string dtype
  (never an object array, so never a pickle);
* header length + shape × itemsize equals the member's declared uncompressed
  size exactly — a 1 KB member cannot claim 8 TiB — and the sum over the
  wanted members stays within ``limit`` bytes.

Reading then allocates exactly what was checked (zipfile stops at the
declared size and verifies the CRC).  Every refusal is one line naming the
file and the member.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import TorusInputError
from .messages import input_file, shown

MAX_MEMBERS = 64
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_HEADER_LIMIT = 10000  # NumPy's own default for max_header_size


def human_bytes(n: int) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:160]}" if text else type(exc).__name__


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str):
    """(shape, dtype, fortran, header bytes) of one member, from its first few KB only."""
    try:
        with zf.open(info) as fh:
            if fh.read(6) != np.lib.format.MAGIC_PREFIX:
                raise TorusInputError(f"{where} is not a .npy array (it does not start with the .npy magic)")
            fh.seek(0)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=_HEADER_LIMIT)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=_HEADER_LIMIT)
            else:
                raise ValueError(f"npy format version {version}")
            offset = fh.tell()
    except TorusInputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise TorusInputError(f"{where} is not a readable .npz member ({_detail(exc)})") from None
    except (ValueError, SyntaxError, TypeError, RuntimeError) as exc:
        raise TorusInputError(f"{where} is not a .npy array ({_detail(exc)})") from None
    return shape, dtype, fortran, offset


def read_npz(path, what: str, *, wanted=None, limit: int, limit_option: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``path`` (only ``wanted`` ones, if given), checked as the module docstring says.

    ``what`` names the role in messages (``codes file``); ``limit`` bounds the
    total uncompressed bytes of the arrays read; ``limit_option`` is the CLI
    option that raises it, named in the refusal.
    """
    path = input_file(path, what)
    name = shown(path)
    if not zipfile.is_zipfile(path):
        # np.load would read a lone .npy as an array and anything else as a pickle.
        raise TorusInputError(f"{what} {name} is not a readable .npz (not a zip archive: truncated, or another format)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise TorusInputError(f"{what} {name} is not a readable .npz ({type(exc).__name__}: {exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise TorusInputError(f"{what} {name} has {len(infos)} members; a .npz of this kind has at most {MAX_MEMBERS}")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if wanted is None or key in wanted:
                members[key] = info
        plan = {}
        total = 0
        for key, info in members.items():
            where = f"{what} {name}: member {shown(info.filename)}"
            if info.compress_type not in _METHODS:
                raise TorusInputError(f"{where} uses zip compression method {info.compress_type}; "
                                      f"only stored and deflated members are read")
            if info.flag_bits & 0x1:
                raise TorusInputError(f"{where} is encrypted")
            if not info.filename.endswith(".npy"):
                raise TorusInputError(f"{where} is not a .npy array (the name lacks .npy)")
            shape, dtype, fortran, offset = _header(zf, info, where)
            if dtype.hasobject or dtype.kind not in "biufcSU" or dtype.fields is not None:
                raise TorusInputError(f"{where} has dtype {dtype}: only plain numbers and strings are read")
            nbytes = math.prod(shape) * dtype.itemsize
            if offset + nbytes != info.file_size:
                raise TorusInputError(
                    f"{where}: its header claims {'×'.join(map(str, shape)) or 'a scalar'} × {dtype.itemsize} B = "
                    f"{human_bytes(nbytes)}, but the member holds {human_bytes(max(info.file_size - offset, 0))}")
            total += nbytes
            plan[key] = (info, nbytes)
        if total > limit:
            raise_hint = f"; raise it with {limit_option}" if limit_option else ""
            raise TorusInputError(f"{what} {name} holds {human_bytes(total)} of arrays, beyond the limit of "
                                  f"{human_bytes(limit)}{raise_hint}")
        out = {}
        for key, (info, _nbytes) in plan.items():
            try:
                with zf.open(info) as fh:
                    out[key] = np.lib.format.read_array(fh, allow_pickle=False, max_header_size=_HEADER_LIMIT)
            except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error) as exc:
                raise TorusInputError(f"{what} {name}: member {shown(info.filename)} is not a readable .npz member "
                                      f"({_detail(exc)})") from None
        return out


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest
