"""The CIFAR reader builds plain data only: planted pickles never run, real-format batches read exactly."""

import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest

from torus_hw.data import load_dataset
from torus_hw.errors import TorusInputError
from torus_hw.plain_pickle import loads_plain


def py2_cifar_batch(data: np.ndarray, labels: list[int], key: bytes = b"labels") -> bytes:
    """A batch encoded the way Python 2's cPickle (protocol 2) wrote the published CIFAR files.

    Written opcode by opcode (not with Python 3's pickle, which spells bytes
    as ``_codecs.encode`` calls) so the test holds the real files' structure:
    SHORT_BINSTRING keys, numpy ``_reconstruct`` + BUILD for the array, a
    ``dtype('u1')`` with its state tuple, and a list of BININT1/BININT labels.
    """
    out = bytearray(b"\x80\x02}q\x01(")  # PROTO 2, EMPTY_DICT, BINPUT 1, MARK

    def string(b: bytes):
        out.extend(b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<I", len(b)) + b)

    def int_(v: int):
        out.extend(b"K" + bytes([v]) if v < 256 else b"J" + struct.pack("<i", v))

    string(b"batch_label")
    string(b"training batch 1 of 5")
    string(b"data")
    out.extend(b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85q\x04")
    string(b"b")
    out.extend(b"\x87q\x05Rq\x06(K\x01")  # TUPLE3, REDUCE, MARK, version 1
    int_(data.shape[0])
    int_(data.shape[1])
    out.extend(b"\x86q\x07cnumpy\ndtype\nq\x08")  # TUPLE2 shape
    string(b"u1")
    out.extend(b"K\x00K\x01\x87q\tRq\n(K\x03")
    string(b"|")
    out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x0bb\x89")  # dtype state, BUILD, NEWFALSE
    string(data.tobytes())
    out.extend(b"tq\x0cb")  # TUPLE (array state), BUILD
    string(key)
    out.extend(b"]q\r(")  # EMPTY_LIST, MARK
    for v in labels:
        int_(v)
    out.extend(b"e")  # APPENDS
    string(b"filenames")
    out.extend(b"]q\x0e(")
    for i in range(len(labels)):
        string(f"img_{i}.png".encode())
    out.extend(b"eu.")  # APPENDS, SETITEMS, STOP
    return bytes(out)


def write_cifar10(root, rows=4, encode=py2_cifar_batch):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (rows, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, rows)]
        (folder / name).write_bytes(encode(data, labels))
        batches[name] = (data, labels)
    return folder, batches


def test_python2_format_batch_reads_exactly():
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (7, 3072), dtype=np.uint8)
    labels = [0, 9, 3, 300, 1, 2, 5]
    raw = py2_cifar_batch(data, labels)
    assert pickle.loads(raw, encoding="bytes")[b"labels"] == labels  # the encoder is a real pickle
    got = loads_plain(raw, "batch")
    assert got[b"batch_label"] == b"training batch 1 of 5"
    assert got[b"labels"] == labels and got[b"filenames"][6] == b"img_6.png"
    assert got[b"data"].dtype == np.uint8 and np.array_equal(got[b"data"], data)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_batches_resaved_by_python3_read_exactly(protocol):
    rng = np.random.default_rng(protocol)
    batch = {b"data": rng.integers(0, 256, (5, 3072), dtype=np.uint8), b"fine_labels": [1, 2, 3, 4, 99],
             "coarse_labels": np.arange(5, dtype=np.int64), b"batch_label": b"x", "f": 1.5, "t": (True, None)}
    got = loads_plain(pickle.dumps(batch, protocol=protocol), "batch")
    assert np.array_equal(got[b"data"], batch[b"data"]) and got[b"fine_labels"] == [1, 2, 3, 4, 99]
    assert np.array_equal(got["coarse_labels"], batch["coarse_labels"]) and got["coarse_labels"].dtype == np.int64
    assert got[b"batch_label"] == b"x" and got["f"] == 1.5 and got["t"] == (True, None)


def test_load_dataset_reads_a_python2_format_cifar10(tmp_path):
    _, batches = write_cifar10(tmp_path)
    d = load_dataset("cifar10", tmp_path)
    assert d.x_db.shape == (20, 3, 32, 32) and d.x_query.shape == (4, 3, 32, 32)
    want = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert np.array_equal(d.x_db, want.astype(np.float32) / 255.0)
    assert d.y_query.tolist() == batches["test_batch"][1]


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch PLANTED')",))


def _planted(sentinel) -> dict[str, bytes]:
    """Pickles that run code under pickle.load, each a different way in."""
    cmd = f"touch {sentinel}"
    arr_of = lambda obj: pickle.dumps({b"data": obj, b"labels": [0]}, protocol=2)  # noqa: E731
    return {
        "reduce-os-system": pickle.dumps({b"data": _System(cmd), b"labels": [0]}, protocol=2),
        "reduce-os-system-p5": pickle.dumps(_System(cmd), protocol=5),
        "reduce-eval": pickle.dumps(_Eval(), protocol=4),
        "global-in-key": pickle.dumps({_System(cmd): 1}, protocol=0),
        "hand-GLOBAL-posix-system": b"cposix\nsystem\n(S'" + cmd.encode() + b"'\ntR.",
        "hand-INST": b"(S'" + cmd.encode() + b"'\nios\nsystem\n.",
        "hand-OBJ": b"\x80\x02cos\nsystem\nq\x00(X" + struct.pack("<I", len(cmd)) + cmd.encode() + b"o.",
        "hand-NEWOBJ": b"\x80\x02cbuiltins\nexec\nX\x04\x00\x00\x00pass\x85\x81.",
        "builtins-getattr": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x07getattr\x93.",
        "object-array": arr_of(np.array([_System(cmd)], dtype=object)),
        "reconstruct-other-type": b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncos\nsystem\nK\x00\x85U\x01b\x87R.",
        "build-setstate-on-dict": b"\x80\x02}(U\x01aK\x01u}b.",
        "persistent-id": b"\x80\x02U\x01x\x51.",
        "ext-code": b"\x80\x02\x82\x01.",
        "record-dtype-array": arr_of(np.zeros(3, dtype=[("a", "u1"), ("b", "O")])),
    }


@pytest.mark.parametrize("case", sorted(_planted("S")))
def test_planted_pickle_is_refused_without_running(tmp_path, case):
    sentinel = tmp_path / "SENTINEL"
    raw = _planted(sentinel)[case]
    with pytest.raises(TorusInputError) as e:
        loads_plain(raw, "CIFAR file x")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("CIFAR file x")
    assert not sentinel.exists() and not (tmp_path / "PLANTED").exists()


def test_planted_cifar_folder_never_runs_code_through_the_cli(tmp_path):
    """`train --data cifar10` on a planted data root: exit 2, one line, the planted command never ran."""
    sentinel = tmp_path / "SENTINEL"
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(_planted(sentinel)["reduce-os-system"])
    proc = subprocess.run([sys.executable, "-m", "torus_hw.cli", "train", "--data", "cifar10", "--data-root",
                           str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "m.pt"), "--no-progress"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torus-hw: error: CIFAR file ") and "data_batch_3" in lines[0]
    assert "os.system" in lines[0] or "posix.system" in lines[0]
    assert not sentinel.exists() and not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("bad, expect", [
    (b"", "not a readable pickle"),
    (b"\x80\x02}q\x00(U\x04dataq", "not a readable pickle"),
    (b"\x80\x02]q\x00.", "holds a list"),
])
def test_malformed_batches_get_one_line(tmp_path, bad, expect):
    folder, _ = write_cifar10(tmp_path)
    (folder / "test_batch").write_bytes(bad)
    with pytest.raises(TorusInputError, match=expect) as e:
        load_dataset("cifar10", tmp_path)
    assert "\n" not in str(e.value)


def test_array_bytes_must_match_its_shape():
    data = np.zeros((2, 3072), dtype=np.uint8)
    raw = py2_cifar_batch(data, [0, 1])
    bigger = raw.replace(b"(K\x01K\x02", b"(K\x01K\x09", 1)  # claim 9 rows, hold 2
    with pytest.raises(TorusInputError, match="needs 27648 bytes, the file holds 6144"):
        loads_plain(bigger, "batch")
