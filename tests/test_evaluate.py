"""torus_hw.evaluate: the metrics, and evaluate_model's report."""

import json

import numpy as np
import pytest
import torch

from model_helpers import trained
from torus_hw.evaluate import circular_variance, code_entropy, codes_p_at_1, cosine_p_at_1, evaluate_model


def test_cosine_p_at_1_ties_go_to_lower_row():
    db = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert cosine_p_at_1(db, [0, 1, 2], np.array([[2.0, 0.0]]), [0]) == 1.0
    assert cosine_p_at_1(db, [0, 1, 2], np.array([[0.0, 3.0], [1.0, 0.1]]), [2, 1]) == 0.5


def test_codes_p_at_1_uses_the_wrap():
    db = np.array([[0], [100]], dtype=np.uint8)
    q = np.array([[250]], dtype=np.uint8)  # 6 steps from 0 across the wrap, 106 from 100
    assert codes_p_at_1(db, [7, 8], q, [7], 8, "l1") == 1.0


def test_circular_variance_bounds():
    assert circular_variance(np.ones((5, 3))) == pytest.approx(0.0)
    assert circular_variance(np.vstack([np.eye(2), -np.eye(2)])) == pytest.approx(1.0)


def test_code_entropy():
    codes = np.array([[0, 5], [1, 5], [2, 5], [3, 5]], dtype=np.uint8)
    assert code_entropy(codes, 4).tolist() == [2.0, 0.0]


@pytest.mark.xdist_group("torus_model")
def test_evaluate_model_report():
    torch.set_num_threads(1)
    ckpt, path = trained()
    r = evaluate_model(path, (8, 1), pq=((2, 8),))
    json.dumps(r)  # the CLI's --json must be able to print it
    assert r["p_at_1"]["float"] == pytest.approx(ckpt.p_at_1)
    assert set(r["p_at_1"]) == {"float", "8", "1", "PQ(2,8)"}
    q8 = r["quantised"]["8"]
    assert q8["code_dims"] == 8 and q8["bits_per_vector"] == 64 and 0 < q8["entropy_per_dim_mean"] <= 8
    assert set(q8["p_at_1"]) == {"l1", "l2"} and set(r["quantised"]["1"]["p_at_1"]) == {"hamming"}
    assert r["p_at_1"]["8"] >= r["p_at_1"]["float"] - 0.03  # 8 bits cost almost nothing
    assert 0.0 < r["float"]["circular_variance"] <= 1.0
    assert r["pq"]["PQ(2,8)"]["bits_per_vector"] == 16
