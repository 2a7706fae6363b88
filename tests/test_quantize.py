"""Flat-torus quantisation and the packed memory layout."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from torus_hw import quantize as qz
from torus_hw.errors import TorusInputError
from torus_hw.reference import BITS

from crosscheck import code_matrix


@given(st.sampled_from(BITS), st.lists(st.floats(-np.pi, np.pi), min_size=1, max_size=32))
def test_angle_code_angle_within_half_a_step(bits, angles):
    theta = np.array(angles)
    back = qz.codes_to_angles(qz.angles_to_codes(theta, bits), bits)
    err = np.angle(np.exp(1j * (back - theta)))  # wrapped difference
    assert np.all(np.abs(err) <= np.pi / (1 << bits) + 1e-12)


@pytest.mark.parametrize("bits", BITS)
def test_wrap_neighbours(bits):
    eps = 1e-9
    step = 2 * np.pi / (1 << bits)
    # just below +π and just above −π are the same point on the circle
    below, above = qz.angles_to_codes(np.array([np.pi - eps, -np.pi + eps]), bits)
    assert below == above == (1 << (bits - 1))
    # one step either side of ±π: neighbouring codes across the wrap
    left, right = qz.angles_to_codes(np.array([np.pi - step, -np.pi + step]), bits).astype(int)
    assert (right - left) % (1 << bits) == 2 % (1 << bits)
    assert qz.angles_to_codes(np.array([-eps, eps]), bits).tolist() == [0, 0]


def test_torusN_pairs_are_adjacent_dims():
    x = np.array([[1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0, -1.0]])
    assert qz.torus_codes(x, 8).tolist() == [[0, 64, 128, 192]]
    with pytest.raises(TorusInputError, match="even last dim"):
        qz.pair_angles(np.zeros((2, 3)))


def test_minmax_grid_is_the_paper_comparison():
    v = np.array([[0.0, 10.0], [1.0, 20.0], [0.5, 15.0]])
    assert qz.minmax_codes(v, 8).tolist() == [[0, 0], [255, 255], [128, 128]]


@given(st.sampled_from(BITS), st.integers(1, 40), st.integers(1, 6), st.sampled_from([1, 2, 4, 8, 16]), st.data())
def test_pack_unpack_round_trip(bits, dims, rows, align, data):
    codes = data.draw(code_matrix(bits, rows, dims))
    stride = qz.row_stride(dims, bits, align)
    packed = qz.pack_rows(codes, bits, stride)
    assert packed.shape == (rows, stride) and packed.dtype == np.uint8 and stride % align == 0
    assert not packed[:, qz.row_bytes(dims, bits):].any()  # zero padding
    np.testing.assert_array_equal(qz.unpack_rows(packed, bits, dims), codes)


def test_layout_matches_design():
    assert qz.pack_rows(np.array([1, 2, 3]), 4).tolist() == [0x21, 0x03]           # dim 2j low nibble
    assert qz.pack_rows(np.array([1, 0, 1, 1, 0, 0, 0, 0, 1]), 1).tolist() == [0b1101, 1]  # bit j%8
    assert qz.pack_rows(np.array([0x1234]), 16).tolist() == [0x34, 0x12]           # little-endian
    with pytest.raises(TorusInputError, match="smaller than"):
        qz.pack_rows(np.zeros((1, 9), np.uint8), 8, stride=8)
