from __future__ import annotations

import pytest

from exabench.errors import UserError
from exabench.workloads.curve import Curve


def test_log_interpolation_and_clamping() -> None:
    c = Curve(xs=(1.0, 100.0), ys=(0.2, 0.8))
    assert c(10.0) == pytest.approx(0.5)  # halfway in log10
    assert c(0.01) == 0.2 and c(1e6) == 0.8 and c.plateau == 0.8
    assert c.scaled(0.5)(10.0) == pytest.approx(0.25)


def test_from_points_sorts_and_averages() -> None:
    c = Curve.from_points([(10, 0.6), (1, 0.2), (10, 0.8)])
    assert c.xs == (1.0, 10.0) and c.ys == (0.2, pytest.approx(0.7))


@pytest.mark.parametrize(
    "xs, ys",
    [
        ((), ()),
        ((1.0, 1.0), (0.1, 0.2)),
        ((2.0, 1.0), (0.1, 0.2)),
        ((1.0,), (0.0,)),
        ((1.0,), (0.1, 0.2)),
    ],
)
def test_bad_curves(xs: tuple, ys: tuple) -> None:
    with pytest.raises(UserError):
        Curve(xs=xs, ys=ys)
