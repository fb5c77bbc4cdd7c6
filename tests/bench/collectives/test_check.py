"""The #wrong check, against a plain-Python simulation of every collective on n ranks."""

from __future__ import annotations

import pytest
import torch

from exabench.bench.collectives import check as collcheck
from exabench.bench.collectives.ops import COLLECTIVES


def simulate(name: str, inputs: list[torch.Tensor], op: str) -> list[torch.Tensor | None]:
    """What each rank's output must hold, from every rank's input, by the textbook definition."""
    n = len(inputs)
    stack = torch.stack([i.double() for i in inputs])
    red = {"sum": stack.sum(0), "prod": stack.prod(0), "max": stack.amax(0), "min": stack.amin(0),
           "avg": stack.mean(0)}[op]
    if name == "all_reduce":
        return [red] * n
    if name == "reduce":
        return [red] + [None] * (n - 1)
    if name == "broadcast":
        return [stack[0]] * n
    if name == "all_gather":
        return [torch.cat(list(stack))] * n
    if name == "reduce_scatter":
        return list(red.chunk(n))
    if name == "all_to_all":
        return [torch.cat([stack[j].chunk(n)[r] for j in range(n)]) for r in range(n)]
    if name == "sendrecv":
        return [stack[(r - 1) % n] for r in range(n)]
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(COLLECTIVES))
@pytest.mark.parametrize(
    ("n", "op", "dtype"),
    [
        (2, "sum", "fp32"),
        (3, "prod", "bf16"),
        (4, "max", "int8"),
        (5, "avg", "fp16"),
        (16, "sum", "int8"),
    ],
)
def test_pattern_and_expected_agree_with_simulation(name: str, n: int, op: str, dtype: str) -> None:
    count = 6 * n
    dt = collcheck.DTYPES[dtype]
    bufs = [collcheck.make_buffers(name, count, r, n, False, dt, "cpu") for r in range(n)]
    for r, (send, recv) in enumerate(bufs):
        collcheck.fill_pattern(send, recv, r, n, op)
    outputs = simulate(name, [send for send, _ in bufs], op)
    for r, (_send, recv) in enumerate(bufs):
        if outputs[r] is None:
            continue
        recv.copy_(outputs[r].to(recv.dtype))
        assert collcheck.count_wrong(name, recv, count, r, n, op, dt) == 0
        recv[1] += 7  # one corrupted element is counted
        assert collcheck.count_wrong(name, recv, count, r, n, op, dt) == 1


def test_unwritten_output_is_wrong() -> None:
    dt = collcheck.DTYPES["fp32"]
    send, recv = collcheck.make_buffers("sendrecv", 20, 0, 2, False, dt, "cpu")
    collcheck.fill_pattern(send, recv, 0, 2, "sum")
    assert collcheck.count_wrong("sendrecv", recv, 20, 0, 2, "sum", dt) == 20


def test_in_place_buffers_alias_like_nccl_tests() -> None:
    dt = collcheck.DTYPES["fp32"]
    send, recv = collcheck.make_buffers("all_gather", 12, 1, 3, True, dt, "cpu")
    assert recv.numel() == 12 and send.numel() == 4
    assert send.data_ptr() == recv.data_ptr() + 4 * 4
    send, recv = collcheck.make_buffers("reduce_scatter", 12, 2, 3, True, dt, "cpu")
    assert recv.data_ptr() == send.data_ptr() + 8 * 4
    send, recv = collcheck.make_buffers("all_reduce", 12, 0, 3, True, dt, "cpu")
    assert send.data_ptr() == recv.data_ptr()


def test_random_timing_data_is_never_zero() -> None:
    dt = collcheck.DTYPES["bf16"]
    send, recv = collcheck.make_buffers("all_to_all", 64, 0, 2, False, dt, "cpu")
    collcheck.randomize(send, recv, seed=3)
    assert bool((send >= 1).all()) and bool((recv >= 1).all())
