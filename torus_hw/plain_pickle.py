"""A pickle *reader* that builds plain data and never runs code: for the CIFAR batches.

The CIFAR "python version" batches are pickles of a dict of bytes keys to
``bytes``, lists of ints / bytes and one uint8 ``numpy.ndarray``.
:func:`pickle.load` would build them by calling whatever the file names — a
planted file runs arbitrary code.  Here the opcode stream (decoded by
:func:`pickletools.genops`) drives a small stack machine that knows only
plain values: ints, floats, bools, None, bytes, str, tuples, lists and dicts.
The three globals an ndarray pickle names (numpy's ``_reconstruct`` /
``_frombuffer``, ``ndarray``, ``dtype``) and ``_codecs.encode`` (how Python 3
writes bytes at protocol 2) are *recognised* by name and interpreted here;
nothing is imported or called.  An array's dtype must be a plain numeric one
and its bytes must match its shape exactly.  Any other opcode or global
raises :class:`TorusInputError` with one line naming it.
"""

from __future__ import annotations

import io
import pickletools

import numpy as np

from .errors import TorusInputError

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric",
                  "numpy")
_KNOWN_GLOBALS = {
    ("_reconstruct",): "reconstruct",
    ("_frombuffer",): "frombuffer",
    ("ndarray",): "ndarray",
    ("dtype",): "dtype",
}
# dtype codes an array in a data file may have: numbers only (no object arrays, no structured records).
_PLAIN_DTYPES = {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"}


class _Mark:
    pass


class _Global:
    def __init__(self, role: str):
        self.role = role


class _DType:
    def __init__(self, code: str):
        self.code = code
        self.order = "|"

    def numpy(self) -> np.dtype:
        order = self.order if self.order in "<>" else "="
        return np.dtype(self.code).newbyteorder(order) if self.code not in ("b1", "i1", "u1") else np.dtype(self.code)


class _ArrayStub:
    """``_reconstruct(ndarray, (0,), b'b')``: filled in by BUILD with (version, shape, dtype, fortran, bytes)."""


def _refuse(what: str, detail: str) -> TorusInputError:
    return TorusInputError(f"{what}: {detail}; only plain data is read (no pickled code or objects)")


def _as_bytes(value, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")  # protocol-2 strings arrive latin-1 decoded: this is lossless
    if isinstance(value, bytearray):
        return bytes(value)
    raise _refuse(what, f"array data is a {type(value).__name__}, not bytes")


def _shape(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                               for s in value):
        raise _refuse(what, f"array shape {value!r} is not a tuple of sizes")
    return value


def _array(raw, dtype, shape, fortran: bool, what: str) -> np.ndarray:
    if not isinstance(dtype, _DType):
        raise _refuse(what, "array dtype is not a plain numeric dtype")
    dt = dtype.numpy()
    shape = _shape(shape, what)
    raw = _as_bytes(raw, what)
    count = int(np.prod(shape, dtype=object))
    if count * dt.itemsize != len(raw):
        raise _refuse(what, f"array of shape {shape} × {dt.itemsize} B needs {count * dt.itemsize} bytes, "
                            f"the file holds {len(raw)}")
    arr = np.frombuffer(raw, dtype=dt)
    return arr.reshape(shape, order="F" if fortran else "C")


def _reduce(func, args, what: str):
    if not isinstance(func, _Global) or not isinstance(args, tuple):
        raise _refuse(what, "REDUCE of something other than a known numpy constructor")
    if func.role == "reconstruct":
        if len(args) != 3 or not isinstance(args[0], _Global) or args[0].role != "ndarray":
            raise _refuse(what, "numpy _reconstruct of something other than an ndarray")
        return _ArrayStub()
    if func.role == "dtype":
        if not args or not isinstance(args[0], (str, bytes)):
            raise _refuse(what, "dtype without a type code")
        code = args[0].decode("latin-1") if isinstance(args[0], bytes) else args[0]
        if code not in _PLAIN_DTYPES:
            raise _refuse(what, f"array dtype {code!r} is not a plain number type")
        return _DType(code)
    if func.role == "frombuffer":  # protocol 5, in band: _frombuffer(buffer, dtype, shape, order)
        if len(args) != 4:
            raise _refuse(what, "numpy _frombuffer with unexpected arguments")
        return _array(args[0], args[1], args[2], args[3] == "F", what)
    if func.role == "encode":  # _codecs.encode(text, 'latin1'): Python 3's protocol-2 bytes
        if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
            raise _refuse(what, "_codecs.encode with unexpected arguments")
        return args[0].encode("latin-1")
    raise _refuse(what, f"{func.role} cannot be called")


def _build(obj, state, what: str):
    if isinstance(obj, _ArrayStub):
        if not isinstance(state, tuple) or len(state) != 5:
            raise _refuse(what, "ndarray state is not (version, shape, dtype, fortran, data)")
        _, shape, dtype, fortran, raw = state
        return _array(raw, dtype, shape, bool(fortran), what)
    if isinstance(obj, _DType):
        if not isinstance(state, tuple) or len(state) < 2:
            raise _refuse(what, "dtype state is not a tuple")
        order = state[1].decode("latin-1") if isinstance(state[1], bytes) else state[1]
        if order not in ("<", ">", "|", "="):
            raise _refuse(what, f"dtype byte order {order!r}")
        if len(state) > 2 and state[2] is not None:
            raise _refuse(what, "a structured or sub-array dtype")
        obj.order = order
        return obj
    raise _refuse(what, f"BUILD of a {type(obj).__name__}")


def _global(module: str, name: str, what: str) -> _Global:
    if module in _NUMPY_MODULES and (name,) in _KNOWN_GLOBALS:
        return _Global(_KNOWN_GLOBALS[(name,)])
    if module == "_codecs" and name == "encode":
        return _Global("encode")
    raise _refuse(what, f"it names the global {module}.{name}")


def _hashable(key, what: str):
    if isinstance(key, (str, bytes, int, float, bool, type(None))):
        return key
    raise _refuse(what, f"a dict key of type {type(key).__name__}")


def _plain(value, what: str):
    """Refuse any stub left in the result (an ndarray never built, a bare global)."""
    if isinstance(value, (_Global, _DType, _ArrayStub, _Mark)):
        raise _refuse(what, "an incomplete numpy object")
    return value


def loads_plain(data: bytes, what: str):
    """The value a pickle ``data`` describes, built from plain data only (see the module docstring)."""
    stack: list = []
    marks: list[int] = []
    memo: dict = {}

    def pop_mark() -> list:
        if not marks:
            raise _refuse(what, "a malformed pickle (no MARK)")
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    def pop():
        if not stack:
            raise _refuse(what, "a malformed pickle (empty stack)")
        return stack.pop()

    try:
        ops = pickletools.genops(io.BytesIO(data))
        for op, arg, _pos in ops:
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                if len(stack) != 1 or marks:
                    raise _refuse(what, "a malformed pickle (stack at STOP)")
                return _plain(stack[0], what)
            if name == "MARK":
                marks.append(len(stack))
            elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT"):
                stack.append(arg)  # genops has decoded the number (INT 01/00 arrives as a bool)
            elif name in ("STRING", "BINSTRING", "SHORT_BINSTRING"):
                stack.append(arg.encode("latin-1") if isinstance(arg, str) else bytes(arg))
            elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                stack.append(bytes(arg))
            elif name in ("UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"):
                stack.append(arg)
            elif name == "NONE":
                stack.append(None)
            elif name in ("NEWTRUE", "NEWFALSE"):
                stack.append(name == "NEWTRUE")
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise _refuse(what, "a malformed pickle (short tuple)")
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "LIST":
                stack.append([_plain(v, what) for v in pop_mark()])
            elif name == "DICT":
                items = pop_mark()
                if len(items) % 2:
                    raise _refuse(what, "a malformed pickle (odd DICT)")
                stack.append({_hashable(items[i], what): _plain(items[i + 1], what) for i in range(0, len(items), 2)})
            elif name == "APPEND":
                value = pop()
                target = pop()
                if not isinstance(target, list):
                    raise _refuse(what, "APPEND to a non-list")
                target.append(_plain(value, what))
                stack.append(target)
            elif name == "APPENDS":
                items = pop_mark()
                target = pop()
                if not isinstance(target, list):
                    raise _refuse(what, "APPENDS to a non-list")
                target.extend(_plain(v, what) for v in items)
                stack.append(target)
            elif name == "SETITEM":
                value, key = pop(), pop()
                target = pop()
                if not isinstance(target, dict):
                    raise _refuse(what, "SETITEM on a non-dict")
                target[_hashable(key, what)] = _plain(value, what)
                stack.append(target)
            elif name == "SETITEMS":
                items = pop_mark()
                target = pop()
                if not isinstance(target, dict) or len(items) % 2:
                    raise _refuse(what, "SETITEMS on a non-dict")
                for i in range(0, len(items), 2):
                    target[_hashable(items[i], what)] = _plain(items[i + 1], what)
                stack.append(target)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                if not stack:
                    raise _refuse(what, "a malformed pickle (PUT on an empty stack)")
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                if not stack:
                    raise _refuse(what, "a malformed pickle (MEMOIZE on an empty stack)")
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    raise _refuse(what, "a malformed pickle (GET of an unknown memo entry)")
                stack.append(memo[arg])
            elif name == "GLOBAL":
                module, _, attr = arg.partition(" ")
                stack.append(_global(module, attr, what))
            elif name == "STACK_GLOBAL":
                attr, module = pop(), pop()
                if not isinstance(module, str) or not isinstance(attr, str):
                    raise _refuse(what, "STACK_GLOBAL of non-strings")
                stack.append(_global(module, attr, what))
            elif name == "REDUCE":
                args, func = pop(), pop()
                stack.append(_reduce(func, args, what))
            elif name == "BUILD":
                state, obj = pop(), pop()
                stack.append(_build(obj, state, what))
            else:
                raise _refuse(what, f"it uses the pickle opcode {name}")
    except TorusInputError:
        raise
    except (ValueError, EOFError, KeyError, TypeError, OverflowError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TorusInputError(f"{what} is not a readable pickle ({detail})") from None
    raise TorusInputError(f"{what} is not a readable pickle (it ends before STOP)")
