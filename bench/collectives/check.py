"""Buffers and the correctness check (nccl-tests ``#wrong``) of one collective on one rank.

Timing runs on random data (never zeros). After timing, every rank refills its input with a
known pattern, ``value(rank, i % 10)``, clears its output, runs the collective once, and counts
the elements that differ from the expected result by more than the tolerance of the dtype.

Pattern: ``((3*rank + p) % 5) + 1`` (1..5, exact in every dtype and whose sums stay exact in
integers), or ``+-1`` for ``prod`` (so products never overflow). Tolerance for floating point:
``(2n + 1) u`` relative, with ``u`` the unit roundoff, the worst-case bound of an n-term
recursive sum (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 4.2);
integers are exact, with two's-complement wrap-around where an integer sum overflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exabench.bench.collectives.ops import COLLECTIVES, PATTERN_PERIOD

CHECK_BLOCK = 1 << 24
"""Elements compared at a time, so the check of a 1 GiB buffer needs no 8 GiB of indices."""


@dataclass(frozen=True)
class DType:
    name: str
    torch_name: str
    size: int
    unit_roundoff: float
    """0 for integers."""
    bits: int = 0
    """Integer width, for the wrap-around of an overflowing sum."""


DTYPES: dict[str, DType] = {d.name: d for d in (
    DType("fp64", "float64", 8, 2.0**-53),
    DType("fp32", "float32", 4, 2.0**-24),
    DType("fp16", "float16", 2, 2.0**-11),
    DType("bf16", "bfloat16", 2, 2.0**-8),
    DType("int8", "int8", 1, 0.0, 8),
    DType("int32", "int32", 4, 0.0, 32),
    DType("int64", "int64", 8, 0.0, 64),
)}
REDOPS = ("sum", "prod", "max", "min", "avg")


def torch_op(op: str) -> Any:
    import torch.distributed as dist

    return {"sum": dist.ReduceOp.SUM, "prod": dist.ReduceOp.PRODUCT, "max": dist.ReduceOp.MAX,
            "min": dist.ReduceOp.MIN, "avg": dist.ReduceOp.AVG}[op]


def make_buffers(collective: str, count: int, rank: int, nranks: int, inplace: bool,
                 dtype: DType, device: Any) -> tuple[Any, Any]:
    """``(send, recv)``; in place, one is a view of the other, as nccl-tests lays them out
    (all_gather: send = recv[rank chunk]; reduce_scatter: recv = send[rank chunk])."""
    import torch

    coll = COLLECTIVES[collective]
    tdtype = getattr(torch, dtype.torch_name)
    per = count // nranks
    if not inplace:
        send = torch.empty(per if coll.send_chunk else count, dtype=tdtype, device=device)
        recv = torch.empty(per if coll.recv_chunk else count, dtype=tdtype, device=device)
        return send, recv
    if coll.send_chunk:
        recv = torch.empty(count, dtype=tdtype, device=device)
        return recv.narrow(0, rank * per, per), recv
    if coll.recv_chunk:
        send = torch.empty(count, dtype=tdtype, device=device)
        return send, send.narrow(0, rank * per, per)
    buf = torch.empty(count, dtype=tdtype, device=device)
    return buf, buf


def randomize(send: Any, recv: Any, seed: int) -> None:
    """Random timing data in [1, 2) (integers 1..2): never zeros, never denormals."""
    import torch

    gen = torch.Generator(device=send.device).manual_seed(seed)
    for buf in (recv, send):
        if buf.is_floating_point():
            buf.copy_(
                torch.rand(buf.shape, generator=gen, device=buf.device, dtype=torch.float32) + 1
            )
        else:
            buf.copy_(torch.randint(1, 3, buf.shape, generator=gen, device=buf.device))


def pattern_table(nranks: int, op: str) -> Any:
    """``table[j, p]`` = the value rank j puts at every index i with i % 10 == p (float64)."""
    import torch

    j = torch.arange(nranks, dtype=torch.float64)[:, None]
    p = torch.arange(PATTERN_PERIOD, dtype=torch.float64)[None, :]
    if op == "prod":
        return 1 - 2 * torch.remainder(j + p, 2)
    return torch.remainder(3 * j + p, 5) + 1


def reduce_table(table: Any, op: str) -> Any:
    if op == "sum":
        return table.sum(0)
    if op == "prod":
        return table.prod(0)
    if op == "max":
        return table.amax(0)
    if op == "min":
        return table.amin(0)
    return table.mean(0)


def fill_pattern(send: Any, recv: Any, rank: int, nranks: int, op: str) -> None:
    """Clear the output, then write this rank's pattern into its input (in that order, so an
    in-place input that is a view of the output keeps its pattern)."""
    import torch

    recv.zero_()
    row = pattern_table(nranks, op)[rank].to(send.device)
    index = torch.remainder(torch.arange(send.numel(), device=send.device), PATTERN_PERIOD)
    send.copy_(row[index])


def _expected(
    collective: str, k: Any, rank: int, nranks: int, per: int, table: Any, reduced: Any
) -> Any:
    """Expected output values at output indices ``k`` (int64 tensor) on ``rank``."""
    P = PATTERN_PERIOD
    if collective == "all_reduce" or collective == "reduce":
        return reduced[k % P]
    if collective == "all_gather":
        return table[k // per, (k % per) % P]
    if collective == "reduce_scatter":
        return reduced[(rank * per + k) % P]
    if collective == "broadcast":
        return table[0, k % P]
    if collective == "all_to_all":
        return table[k // per, (rank * per + k % per) % P]
    if collective == "sendrecv":
        return table[(rank - 1) % nranks, k % P]
    raise AssertionError(collective)


def count_wrong(collective: str, recv: Any, count: int, rank: int, nranks: int, op: str,
                dtype: DType) -> int:
    """Elements of this rank's output that differ from the expected result."""
    import torch

    if collective == "reduce" and rank != 0:
        return 0  # only the root's output is defined
    device = recv.device
    table = pattern_table(nranks, op).to(device)
    reduced = reduce_table(table, op)
    if dtype.bits and op in ("sum", "prod"):
        half = 2.0 ** (dtype.bits - 1)
        reduced = torch.remainder(reduced + half, 2 * half) - half
    tol = (2 * nranks + 1) * dtype.unit_roundoff
    per = count // nranks
    wrong = 0
    n = recv.numel()
    for start in range(0, n, CHECK_BLOCK):
        k = torch.arange(start, min(n, start + CHECK_BLOCK), device=device)
        expected = _expected(collective, k, rank, nranks, per, table, reduced)
        got = recv[start:start + k.numel()].to(torch.float64)
        bad = (got - expected).abs() > tol * expected.abs().clamp(min=1)
        wrong += int(bad.sum().item())
    return wrong
