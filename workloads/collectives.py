"""The collectives exabench measures and plans with, spelled as nccl-tests and torch.distributed
spell them (``all_reduce``, ``all_to_all``, ...), and the bus-bandwidth factor of each.

nccl-tests (NVIDIA/nccl-tests doc/PERFORMANCE.md) report ``algbw = S / t`` and
``busbw = algbw * factor(n)``: the factor turns the algorithm bandwidth of a collective on a
buffer of S bytes over n ranks into the bandwidth each rank's link must carry, so busbw is
comparable across collectives and rank counts and reads against the link's peak. ``bench``
computes busbw from a measured time with it; the planner turns a busbw curve back into a time
with it (``t = factor(n) * S / busbw``). One table serves both.

Each factor's docstring gives its derivation, with S the buffer size in bytes as nccl-tests
counts it, B the per-rank link bandwidth and t the time of one operation.
"""

from __future__ import annotations

from collections.abc import Callable


def all_reduce_factor(n: int) -> float:
    """2(n-1)/n. A ring all_reduce is a reduce-scatter then an all-gather: each rank sends (and
    receives) 2(n-1) chunks of S/n bytes, so t = 2(n-1)/n * S/B and B = algbw * 2(n-1)/n."""
    return 2 * (n - 1) / n


def all_gather_factor(n: int) -> float:
    """(n-1)/n, S the gathered size: each rank receives the n-1 chunks of S/n it lacks,
    t = (n-1)/n * S/B, B = algbw * (n-1)/n."""
    return (n - 1) / n


def reduce_scatter_factor(n: int) -> float:
    """(n-1)/n, S the input size: each rank sends n-1 of its n chunks of S/n to be reduced
    elsewhere and keeps one, t = (n-1)/n * S/B."""
    return (n - 1) / n


def all_to_all_factor(n: int) -> float:
    """(n-1)/n, S the whole send buffer: each rank sends n-1 of its n chunks of S/n (the chunk
    for itself stays local), t = (n-1)/n * S/B."""
    return (n - 1) / n


def broadcast_factor(n: int) -> float:
    """1: the root's link carries S once (a pipelined chain), t = S/B, independent of n."""
    return 1.0


def reduce_factor(n: int) -> float:
    """1: the root's link receives S once (a pipelined chain), t = S/B."""
    return 1.0


def sendrecv_factor(n: int) -> float:
    """1: each rank sends S to its successor and receives S from its predecessor on its own
    link at once, t = S/B."""
    return 1.0


BUSBW_FACTOR: dict[str, Callable[[int], float]] = {
    "all_reduce": all_reduce_factor,
    "all_gather": all_gather_factor,
    "reduce_scatter": reduce_scatter_factor,
    "broadcast": broadcast_factor,
    "reduce": reduce_factor,
    "all_to_all": all_to_all_factor,
    "sendrecv": sendrecv_factor,
}
"""Bus-bandwidth factor of each collective by its name, in ``exabench bench collectives`` order."""

RING_COLLECTIVES = ("reduce_scatter", "all_gather", "all_to_all")
"""The collectives whose factor is (n-1)/n: on a ring each moves S once, so they share one
bus-bandwidth curve (a profile's ``nvlink_ring``); all_reduce moves it twice and has its own."""
