"""One rank's sweep of ``exabench bench collectives``: warm up, time every operation, check,
and hand the samples to rank 0, which writes each finished result durably.

Per case (collective x size x dtype x pass), on every rank:

1. random data (never zeros), ``warmup_iters`` untimed calls;
2. ``iters`` calls, each timed on its own: CUDA events around each call on a GPU (pipelined,
   as nccl-tests ``-I 1``), or a barrier then ``perf_counter_ns`` around each (synchronous)
   gloo call on a CPU; with ``--cuda-graph``, ``GRAPH_CALLS`` calls replayed from a graph per
   sample;
3. the correctness check (``#wrong``, :mod:`exabench.bench.collectives.check`), after timing;
4. the samples, ``#wrong`` and any error go to rank 0 over a gloo group.

Rank 0 keeps every rank's samples (``ranks.samples``); the result's ``samples`` are, per
iteration, the slowest rank's time (it sets the pace), and algbw/busbw come from their median.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from exabench.bench.collectives import check as collcheck
from exabench.bench.collectives.launch import Session, inject_fault
from exabench.bench.collectives.ops import COLLECTIVES, Call, algbw_gbps, element_count
from exabench.documents.run import make_result
from exabench.documents.stats import summarize

GRAPH_CALLS = 10
FAULT_WORDS = ("timed out", "timeout", "connection", "closed", "reset by peer", "broken pipe",
               "abort", "nccl error", "socket", "peer")


@dataclass(kw_only=True, frozen=True)
class SweepSpec:
    collectives: tuple[str, ...]
    sizes: tuple[int, ...]
    """Requested sizes in bytes (nccl-tests ``-b .. -e`` with ``-f``)."""
    dtypes: tuple[str, ...] = ("fp32",)
    op: str = "sum"
    iters: int = 20
    warmup_iters: int = 5
    cuda_graph: bool = False
    device: str = "cpu"
    """``cuda`` (one GPU per rank: LOCAL_RANK) or ``cpu``."""
    timeout_s: float = 300.0
    gloo_fallback: bool = False
    """Use the gloo fallbacks even where the backend has the op (tests the fallback)."""
    extra: dict[str, Any] = field(default_factory=dict)


def cases(spec: SweepSpec, nranks: int) -> list[tuple[str, str, int, int, bool]]:
    """``(dtype, collective, bytes, count, inplace)`` in nccl-tests order: per size, the
    out-of-place pass then the in-place pass; sizes that round to the same count run once."""
    out = []
    for dtype in spec.dtypes:
        size = collcheck.DTYPES[dtype].size
        for name in spec.collectives:
            counts = sorted({element_count(name, b, size, nranks) for b in spec.sizes})
            for count in counts:
                for inplace in COLLECTIVES[name].passes:
                    out.append((dtype, name, count * size, count, inplace))
    return out


def case_id(
    dtype: str, name: str, count: int, inplace: bool, nranks: int
) -> tuple[str, str, int, bool, int]:
    """What makes two collectives results the same case (a resumed sweep skips finished ones)."""
    return (dtype, name, int(count), bool(inplace), int(nranks))


def finished_cases(results: list[dict[str, Any]]) -> set[tuple[str, str, int, bool, int]]:
    """The case ids of the collectives results already in a Run (``ok``, ``failed`` or
    ``skipped``: a failure is an outcome, as for every resumed suite)."""
    done = set()
    for r in results:
        p = r.get("params") or {}
        if (
            r.get("suite") == "collectives"
            and isinstance(p, dict)
            and r.get("name") in COLLECTIVES
            and all(
                isinstance(p.get(k), (int, str, bool))
                for k in ("dtype", "count", "inplace", "nranks")
            )
        ):
            done.add(case_id(p["dtype"], r["name"], p["count"], p["inplace"], p["nranks"]))
    return done


def _device(spec: SweepSpec, session: Session) -> Any:
    import torch

    return (
        torch.device("cuda", torch.cuda.current_device())
        if spec.device == "cuda"
        else torch.device("cpu")
    )


def short_error(error: BaseException) -> str:
    """``Type: message`` on one line, without the C++ source paths gloo and NCCL prefix."""
    text = re.sub(r"\[[^\]]*\.(?:cc|cpp|h):\d+\]\s*", "", " ".join(str(error).split()))
    text = text.split(" This is typically caused")[0]
    return f"{type(error).__name__}: {text[:240]}"


def _is_unsupported(error: BaseException) -> bool:
    text = str(error).lower()
    return (
        isinstance(error, NotImplementedError)
        or "not supported" in text
        or "does not support" in text
        or "unsupported" in text
    )


def measure_rank(session: Session, spec: SweepSpec, name: str, count: int, dtype_name: str,
                 inplace: bool, seed: int) -> dict[str, Any]:
    """This rank's part of one case: ``samples`` (s), ``wrong``, ``error``, ``fallback``."""
    import torch

    coll = COLLECTIVES[name]
    dtype = collcheck.DTYPES[dtype_name]
    device = _device(spec, session)
    cuda = device.type == "cuda"
    out: dict[str, Any] = {
        "samples": [],
        "batch_s": None,
        "wrong": 0,
        "error": None,
        "fallback": False,
    }
    send = recv = None
    try:
        send, recv = collcheck.make_buffers(
            name, count, session.rank, session.size, inplace, dtype, device
        )
        collcheck.randomize(send, recv, seed)
        call = _first_call(session, spec, name, send, recv)
        out["fallback"] = call.fallback

        def fn() -> None:
            coll.run(send, recv, call)

        for _ in range(spec.warmup_iters):
            fn()
        if cuda:
            out["samples"], out["batch_s"] = _time_cuda(fn, spec, session)
        else:
            samples = _time_cpu(fn, spec, session)
            # Barrier-separated calls: the batch time per operation is their mean.
            out["samples"], out["batch_s"] = samples, sum(samples) / len(samples)
        collcheck.fill_pattern(send, recv, session.rank, session.size, spec.op)
        fn()
        if cuda:
            torch.cuda.synchronize()
        out["wrong"] = collcheck.count_wrong(
            name, recv, count, session.rank, session.size, spec.op, dtype
        )
    except Exception as error:  # noqa: BLE001 - reported to rank 0, which decides what it means
        out["error"] = short_error(error)
    finally:
        send = recv = None  # free the buffers before the next case allocates  # noqa: F841
    return out


def _first_call(session: Session, spec: SweepSpec, name: str, send: Any, recv: Any) -> Call:
    """Make the case's first (untimed) call and return the :class:`Call` the others repeat:
    on gloo, with the fallback when asked for or when gloo lacks the op."""
    coll = COLLECTIVES[name]
    call = Call(group=session.group, op=collcheck.torch_op(spec.op), rank=session.rank,
                nranks=session.size, fallback=spec.gloo_fallback and session.backend == "gloo"
                and coll.fallback_note is not None)
    try:
        coll.run(send, recv, call)
    except (RuntimeError, NotImplementedError) as error:
        # Every rank meets the same unsupported op at the same call, so all switch together.
        if session.backend != "gloo" or coll.fallback_note is None or not _is_unsupported(error):
            raise
        call.fallback = True
        coll.run(send, recv, call)
    return call


def _time_cpu(fn, spec: SweepSpec, session: Session) -> list[float]:
    import torch.distributed as dist

    samples = []
    for _ in range(spec.iters):
        # gloo calls return when done; the barrier lines the ranks up so each time is the
        # operation's, not the wait for a late rank (nccl-tests -z 1, barrier not timed).
        dist.barrier(group=session.group)
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) * 1e-9)
    return samples


def _time_cuda(fn, spec: SweepSpec, session: Session) -> tuple[list[float], float]:
    """Per-operation times from an event pair around each (pipelined: no synchronise between
    operations, as nccl-tests ``-I 1``), and the batch time per operation, first start event to
    last end event over the count: nccl-tests' default measure (its host clock around ``-n``
    back-to-back operations), which for messages shorter than their launch is the host's
    launch rate rather than the operation's own time."""
    import torch
    import torch.distributed as dist

    calls, run = 1, fn
    if spec.cuda_graph:
        calls = GRAPH_CALLS
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn()
        run = graph.replay
        run()
    dist.barrier(group=session.group)
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(spec.iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(spec.iters)]
    for i in range(spec.iters):
        starts[i].record()
        run()
        ends[i].record()
    torch.cuda.synchronize()
    batch = starts[0].elapsed_time(ends[-1]) * 1e-3 / (spec.iters * calls)
    return [s.elapsed_time(e) * 1e-3 / calls for s, e in zip(starts, ends, strict=True)], batch


def build_result(spec: SweepSpec, name: str, nbytes: int, count: int, dtype: str, inplace: bool,
                 per_rank: list[dict[str, Any]], backend: str) -> dict[str, Any]:
    """Rank 0: one result record from every rank's part of a case."""
    coll = COLLECTIVES[name]
    n = len(per_rank)
    params = {
        "collective": name,
        "bytes": nbytes,
        "count": count,
        "nranks": n,
        "dtype": dtype,
        "inplace": inplace,
        "op": spec.op if coll.reduces else None,
        "root": 0 if coll.rooted else None,
    }
    common = {"suite": "collectives", "name": name, "params": params, "unit": "s"}
    fallback = any(p["fallback"] for p in per_rank)
    extra = _case_extra(spec, name, n, backend, fallback)
    errors = [(r, p["error"]) for r, p in enumerate(per_rank) if p["error"]]
    if errors:
        ranks = ", ".join(str(r) for r, _ in errors)
        return make_result(
            **common, status="failed", error=f"rank {ranks}: {errors[0][1]}", extra=extra
        )
    rank_samples = [p["samples"] for p in per_rank]
    samples = [max(column) for column in zip(*rank_samples, strict=True)]
    medians = [summarize(s)["median"] for s in rank_samples]
    median = summarize(samples)["median"]
    factor = coll.factor(n)
    wrong = sum(p["wrong"] for p in per_rank)
    metrics = {
        "algbw_gbps": algbw_gbps(nbytes, median),
        "busbw_gbps": algbw_gbps(nbytes, median) * factor,
        "busbw_factor": factor,
        "wrong": wrong,
        "slowest_rank": max(range(n), key=lambda r: medians[r]),
    }
    batches = [p.get("batch_s") for p in per_rank]
    if all(isinstance(b, (int, float)) and b > 0 for b in batches):
        # nccl-tests' own columns: time per operation over the batch, averaged over ranks (-a 1).
        avg = sum(batches) / n
        metrics.update(time_avg_s=avg, algbw_gbps_avg=algbw_gbps(nbytes, avg),
                       busbw_gbps_avg=algbw_gbps(nbytes, avg) * factor)
    extra["ranks"] = {"samples": rank_samples, "median_s": medians, "batch_s": batches,
                      "busbw_gbps": [algbw_gbps(nbytes, m) * factor for m in medians]}
    status, error = "ok", None
    if wrong:
        status, error = "failed", f"wrong result: {wrong} wrong elements across {n} ranks"
    return make_result(
        **common, samples=samples, metrics=metrics, status=status, error=error, extra=extra
    )


def _case_extra(
    spec: SweepSpec, name: str, nranks: int, backend: str, fallback: bool
) -> dict[str, Any]:
    """The result's ``implementation`` (backend, the fallback used if any) and ``timing``."""
    coll = COLLECTIVES[name]
    extra: dict[str, Any] = {
        "implementation": {
            "backend": backend,
            "fallback": coll.fallback_note if fallback else None,
        },
        "timing": {
            "iters": spec.iters,
            "warmup_iters": spec.warmup_iters,
            "cuda_graph": spec.cuda_graph,
            "calls_per_sample": GRAPH_CALLS if spec.cuda_graph else 1,
            "clock": "cuda events" if spec.device == "cuda" else "barrier + perf_counter_ns",
        },
    }
    if name == "sendrecv" and nranks == 1:
        extra["implementation"]["note"] = "world size 1: a local copy (there is no peer to send to)"
    return extra


def is_fault(per_rank: list[dict[str, Any]]) -> bool:
    """An error that means a rank or the network is gone, not that the op can't run."""
    return any(p["error"] and any(w in p["error"].lower() for w in FAULT_WORDS) for p in per_rank)


def sweep(session: Session, spec: SweepSpec, on_result, done: frozenset = frozenset()) -> None:
    """Run every case on this rank, less those in ``done`` (:func:`case_id`, the same set on
    every rank); on rank 0 call ``on_result(result)`` as each finishes. Raises RuntimeError (on
    every rank that can still tell) when a rank faults."""
    import torch.distributed as dist

    for index, (dtype, name, nbytes, count, inplace) in enumerate(cases(spec, session.size)):
        if case_id(dtype, name, count, inplace, session.size) in done:
            continue
        inject_fault(session.rank, index)
        session.beat()
        part = measure_rank(
            session, spec, name, count, dtype, inplace, seed=1000 * session.rank + index
        )
        gathered = [None] * session.size if session.rank == 0 else None
        try:
            dist.gather_object(part, gathered, dst=0, group=session.control)
        except Exception as error:  # a rank is gone: record the case in flight, then stop
            message = f"rank fault: gathering the results failed ({short_error(error)}); " \
                      f"this rank's own error: {part['error']}"
            if session.rank == 0:
                params = build_result(
                    spec, name, nbytes, count, dtype, inplace, [part], session.backend
                )["params"]
                params["nranks"] = session.size
                on_result(
                    make_result(
                        suite="collectives",
                        name=name,
                        params=params,
                        status="failed",
                        error=message,
                    )
                )
            raise RuntimeError(message) from None
        verdict = [None]
        if session.rank == 0:
            result = build_result(
                spec, name, nbytes, count, dtype, inplace, gathered, session.backend
            )
            fatal = is_fault(gathered)
            if fatal:
                result["error"] = f"rank fault: {result['error']}"
            on_result(result)
            verdict = [result["error"] if fatal else None]
        dist.broadcast_object_list(verdict, src=0, group=session.control)
        if verdict[0]:
            raise RuntimeError(verdict[0])
        session.beat()
