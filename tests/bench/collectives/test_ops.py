"""Bus-bandwidth factors (nccl-tests src/<coll>.cu), byte counting and element counts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from exabench.bench.collectives.ops import COLLECTIVES, algbw_gbps, busbw_gbps, element_count

# nccl-tests' *GetBw factors, written out independently of the code under test.
EXPECTED = {
    "all_reduce": lambda n: Fraction(2 * (n - 1), n),
    "all_gather": lambda n: Fraction(n - 1, n),
    "reduce_scatter": lambda n: Fraction(n - 1, n),
    "all_to_all": lambda n: Fraction(n - 1, n),
    "broadcast": lambda n: Fraction(1),
    "reduce": lambda n: Fraction(1),
    "sendrecv": lambda n: Fraction(1),
}


def test_all_seven_collectives_are_defined() -> None:
    assert set(COLLECTIVES) == set(EXPECTED)


@pytest.mark.parametrize("n", range(2, 17))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_busbw_factor_matches_nccl_tests(name: str, n: int) -> None:
    assert COLLECTIVES[name].factor(n) == pytest.approx(float(EXPECTED[name](n)), rel=1e-15)


def test_factor_hand_values() -> None:
    assert COLLECTIVES["all_reduce"].factor(8) == 1.75
    assert COLLECTIVES["all_gather"].factor(8) == 0.875
    assert COLLECTIVES["all_reduce"].factor(1) == 0.0  # world size 1: nothing crosses a link
    assert COLLECTIVES["all_to_all"].factor(16) == 0.9375


def test_algbw_is_decimal_gb_per_second() -> None:
    assert algbw_gbps(1_000_000_000, 1.0) == 1.0
    # 8 x H100 NVLS all_reduce of 8 GiB at 478.9 GB/s busbw (Azure ND H100 v5) takes 31.4 ms.
    seconds = 8 * 2**30 / (478.9e9 / 1.75)
    assert busbw_gbps("all_reduce", 8 * 2**30, seconds, 8) == pytest.approx(478.9)


@pytest.mark.parametrize(("name", "nbytes", "size", "n", "count"), [
    ("all_reduce", 1024, 4, 4, 256),
    ("all_reduce", 3, 4, 4, 1),          # at least one element
    ("all_gather", 1000, 4, 3, 249),     # whole elements, a multiple of n
    ("reduce_scatter", 8, 4, 4, 4),      # at least one element per rank
    ("all_to_all", 4096, 2, 8, 2048),
    ("sendrecv", 10, 8, 2, 1),
])
def test_element_count(name: str, nbytes: int, size: int, n: int, count: int) -> None:
    assert element_count(name, nbytes, size, n) == count


def test_passes_torch_can_express() -> None:
    assert COLLECTIVES["all_reduce"].passes == (True,)
    assert COLLECTIVES["all_gather"].passes == (False, True)
    assert COLLECTIVES["sendrecv"].passes == (False,)
