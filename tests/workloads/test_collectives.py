"""One bus-bandwidth table for bench and planner, spelled as nccl-tests and torch spell the
names."""

from __future__ import annotations

import pytest

from exabench.bench.collectives.ops import COLLECTIVES
from exabench.workloads.collectives import BUSBW_FACTOR, RING_COLLECTIVES


def test_bench_measures_with_the_one_table() -> None:
    assert list(COLLECTIVES) == list(BUSBW_FACTOR)
    assert all(COLLECTIVES[name].factor is BUSBW_FACTOR[name] for name in BUSBW_FACTOR)


@pytest.mark.parametrize("n", [2, 8, 72])
def test_ring_collectives_share_the_n_minus_1_over_n_factor(n: int) -> None:
    ring = {name for name, factor in BUSBW_FACTOR.items() if factor(n) == (n - 1) / n}
    assert ring == set(RING_COLLECTIVES)
    assert BUSBW_FACTOR["all_reduce"](n) == 2 * (n - 1) / n
