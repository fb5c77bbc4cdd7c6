"""The seven collectives of ``exabench bench collectives``: what each one moves, how it is called
through ``torch.distributed`` (NCCL on GPUs, gloo on CPUs), its nccl-tests bus-bandwidth factor
(one table for bench and planner, with derivations: ``exabench.workloads.collectives``) and the
result a correct run must give.

nccl-tests conventions (NVIDIA/nccl-tests@a0b82b2 ``src/<coll>.cu``, ``doc/PERFORMANCE.md``):

- ``size`` is the larger of one rank's send and receive buffer in bytes; ``count`` its elements.
  For all_gather it is the gathered (output) buffer, for reduce_scatter the input buffer, for
  all_to_all the whole send buffer: the *total* buffer is counted, never one rank's chunk.
- ``algbw = size / 1e9 / seconds`` (decimal GB/s) and ``busbw = algbw * factor(n)``.

Multi-node, under torchrun (one process per GPU; rank 0 writes the one Run)::

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HEAD:29500 \\
        -m exabench bench collectives --max-bytes 1G --out results/

The module takes the options of ``exabench bench collectives``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exabench.workloads.collectives import BUSBW_FACTOR

PATTERN_PERIOD = 10
"""The check pattern repeats every 10 elements (``value(rank, i % 10)``)."""


def algbw_gbps(nbytes: int, seconds: float) -> float:
    """``size / 1e9 / seconds``: decimal GB/s, as nccl-tests prints."""
    return nbytes / 1e9 / seconds


def busbw_gbps(collective: str, nbytes: int, seconds: float, nranks: int) -> float:
    return algbw_gbps(nbytes, seconds) * COLLECTIVES[collective].factor(nranks)


# --- how each collective is called ----------------------------------------------------------

@dataclass
class Call:
    """What one rank's call needs: the process group, the reduction, who it is."""

    group: Any
    op: Any
    rank: int
    nranks: int
    fallback: bool = False
    """gloo path: use the portable fallback for an op the backend lacks."""


def _run_all_reduce(send, recv, c: Call) -> None:
    import torch.distributed as dist

    dist.all_reduce(recv, op=c.op, group=c.group)


def _run_all_gather(send, recv, c: Call) -> None:
    import torch.distributed as dist

    if c.fallback:  # gloo without a flat all-gather: gather into per-rank views of recv
        dist.all_gather(list(recv.chunk(c.nranks)), send, group=c.group)
        return
    fn = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    fn(recv, send, group=c.group)


def _run_reduce_scatter(send, recv, c: Call) -> None:
    import torch.distributed as dist

    if c.fallback:
        # gloo has had no reduce_scatter for most torch releases: all_reduce a copy of the whole
        # input, keep this rank's chunk. Correct, but it moves ~2x the data of a reduce-scatter,
        # so its busbw is not comparable to NCCL's (the result says so in "implementation").
        full = send.clone()
        dist.all_reduce(full, op=c.op, group=c.group)
        recv.copy_(full.chunk(c.nranks)[c.rank])
        return
    fn = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor
    fn(recv, send, op=c.op, group=c.group)


def _run_broadcast(send, recv, c: Call) -> None:
    import torch.distributed as dist

    dist.broadcast(recv, src=0, group=c.group)


def _run_reduce(send, recv, c: Call) -> None:
    import torch.distributed as dist

    dist.reduce(recv, dst=0, op=c.op, group=c.group)


def _run_all_to_all(send, recv, c: Call) -> None:
    import torch.distributed as dist

    dist.all_to_all_single(recv, send, group=c.group)


def _run_sendrecv(send, recv, c: Call) -> None:
    import torch.distributed as dist

    if (
        c.nranks == 1
    ):  # a ring of one: NCCL sends to itself; gloo can't, and a copy is the same data path
        recv.copy_(send)
        return
    ops = [dist.P2POp(dist.isend, send, (c.rank + 1) % c.nranks, group=c.group),
           dist.P2POp(dist.irecv, recv, (c.rank - 1) % c.nranks, group=c.group)]
    for work in dist.batch_isend_irecv(ops):
        work.wait()


@dataclass(frozen=True, kw_only=True)
class Collective:
    name: str
    factor: Callable[[int], float]
    run: Callable[[Any, Any, Call], None]
    reduces: bool
    """Takes a reduction op (nccl-tests ``redop``)."""
    rooted: bool
    """Has a root, rank 0 (nccl-tests ``root``)."""
    passes: tuple[bool, ...]
    """The ``inplace`` values torch.distributed can express (False: out-of-place)."""
    send_chunk: bool
    """The send buffer is one rank's chunk (count / n elements) of the counted buffer."""
    recv_chunk: bool
    """The receive buffer is one rank's chunk of the counted buffer."""
    fallback_note: str | None = None
    """What the gloo fallback does, when there is one."""


# torch.distributed has no out-of-place all_reduce, broadcast or reduce (its API updates the
# tensor in place), and no in-place all_to_all or sendrecv; those passes are not run rather
# than emulated with an extra copy that would be timed with them.
COLLECTIVES: dict[str, Collective] = {c.name: c for c in (
    Collective(name="all_reduce", factor=BUSBW_FACTOR["all_reduce"], run=_run_all_reduce,
               reduces=True, rooted=False, passes=(True,), send_chunk=False, recv_chunk=False),
    Collective(name="all_gather", factor=BUSBW_FACTOR["all_gather"], run=_run_all_gather,
               reduces=False, rooted=False, passes=(False, True), send_chunk=True, recv_chunk=False,
               fallback_note="gloo fallback: all_gather into per-rank views of the output"),
    Collective(name="reduce_scatter", factor=BUSBW_FACTOR["reduce_scatter"],
               run=_run_reduce_scatter, reduces=True, rooted=False, passes=(False, True),
               send_chunk=False, recv_chunk=True,
               fallback_note="gloo fallback: all_reduce of the whole input, then this rank's chunk "
                             "(moves ~2x the data; busbw not comparable to NCCL)"),
    Collective(name="broadcast", factor=BUSBW_FACTOR["broadcast"], run=_run_broadcast,
               reduces=False, rooted=True, passes=(True,), send_chunk=False, recv_chunk=False),
    Collective(name="reduce", factor=BUSBW_FACTOR["reduce"], run=_run_reduce, reduces=True,
               rooted=True, passes=(True,), send_chunk=False, recv_chunk=False),
    Collective(name="all_to_all", factor=BUSBW_FACTOR["all_to_all"], run=_run_all_to_all,
               reduces=False, rooted=False, passes=(False,), send_chunk=False, recv_chunk=False),
    Collective(name="sendrecv", factor=BUSBW_FACTOR["sendrecv"], run=_run_sendrecv,
               reduces=False, rooted=False, passes=(False,), send_chunk=False, recv_chunk=False),
)}


def element_count(collective: str, nbytes: int, element_size: int, nranks: int) -> int:
    """Elements of the counted buffer for a requested ``size``: rounded down to a whole number
    of elements (and to a multiple of n where the buffer is split into per-rank chunks, as
    nccl-tests does), at least one element (one per rank)."""
    coll = COLLECTIVES[collective]
    count = max(1, nbytes // element_size)
    if coll.send_chunk or coll.recv_chunk or collective == "all_to_all":
        count = max(nranks, count // nranks * nranks)
    return count
