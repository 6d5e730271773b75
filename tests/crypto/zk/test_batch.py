"""Verification equations and their random-weight batching."""

from __future__ import annotations

import pytest

from batterytrace.crypto.zk.batch import Equation, check_all
from batterytrace.crypto.zk.generators import H, vector_g
from batterytrace.crypto.zk.group import base_mul, random_scalar
from batterytrace.errors import VerificationError


def _true_equation() -> Equation:
    # k·G + j·H − (k·G + j·H) = 0, spread over every kind of term
    k, j = random_scalar(), random_scalar()
    eq = Equation()
    eq.base = k
    eq.add_fixed(H, j)
    eq.vec_g = [0, 3]
    eq.add_free(base_mul(k) + H * j + vector_g(1) * 3, -1)
    return eq


def _false_equation(offset: int) -> Equation:
    eq = _true_equation()
    eq.base += offset
    return eq


def test_true_equations_pass_alone_and_batched() -> None:
    check_all([_true_equation()], "single")
    check_all([_true_equation() for _ in range(5)], "batch")
    check_all([], "nothing")


def test_a_false_equation_is_refused_by_name() -> None:
    with pytest.raises(VerificationError, match="widget: the verification equation does not hold"):
        check_all([_false_equation(1)], "widget")
    with pytest.raises(VerificationError, match="batch"):
        check_all([_true_equation(), _false_equation(5), _true_equation()], "batch")


def test_errors_that_cancel_without_weights_are_caught() -> None:
    # E and −E sum to zero; random weights make the combination non-zero.
    with pytest.raises(VerificationError):
        check_all([_false_equation(7), _false_equation(-7)], "cancelling pair")
    # with equal weights the pair would pass, showing why the weights are needed
    check_all([_false_equation(7), _false_equation(-7)], "equal weights", weight=lambda: 1)


def test_scaled_equations_keep_their_truth() -> None:
    assert _true_equation().scaled(12345).evaluate().is_identity()
    assert not _false_equation(1).scaled(3).evaluate().is_identity()
