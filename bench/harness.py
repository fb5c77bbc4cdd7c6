"""The one timing protocol every microbenchmark uses (the nccl-tests / do_bench pattern).

A benchmark family supplies thin :class:`Case` objects (what to allocate, what to run, how to
check it, how much work one call does); this harness owns everything else, in this order:

1. **skip** what the device can't run, with the reason;
2. **set up** random inputs (never zeros: constant data draws less power and runs faster,
   Horace He's "predictable data" effect), refusing or catching out-of-memory as ``failed``;
3. **check** the result against a reference before timing it; a wrong result is ``failed``
   and never timed (llm.c: "All results match. Starting benchmarks.");
4. **warm up** for a time budget in ms (triton ``do_bench``: 25 ms default);
5. **time every call on its own**: a CUDA event pair around each call on the GPU, or
   ``perf_counter_ns`` around the call and a synchronise on the CPU; between calls, and outside
   the timed window, flush the cache by writing a buffer larger than L2 (sized from the device's
   ``L2_cache_size``), or rotate over input sets that together exceed it; on the GPU a short
   spin kernel before each start event keeps the host's launch latency out of the sample;
6. optionally replay the call from a **CUDA graph** (launch-bound sizes), ``graph_calls`` calls
   per replay, each sample = replay time / calls (``do_bench_cudagraph``);
7. keep **every sample**, summarise with median and quartiles, derive the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from exabench.bench.device import Device
from exabench.documents.run import make_result
from exabench.documents.stats import summarize

FLUSH_MODES = ("l2", "rotate", "none")
COVER_CYCLES = 100_000
"""GPU clock cycles of the spin kernel queued before each timed call (50 µs at H100's 1.98 GHz
boost, longer at lower clocks): see :class:`_Timer`."""


@dataclass(kw_only=True)
class TimingConfig:
    """How long and how carefully to time each case."""

    warmup_ms: float = 25.0
    """Warm-up budget per case, milliseconds (at least one call)."""
    rep_ms: float = 100.0
    """Measurement budget per case, milliseconds; the sample count is derived from it."""
    min_samples: int = 10
    max_samples: int = 500
    flush: str = "l2"
    """``l2``: write a buffer larger than the cache before each call; ``rotate``: cycle over
    input sets whose total exceeds the cache; ``none``: warm-cache timing."""
    cuda_graph: bool = False
    graph_calls: int = 20
    """Calls captured per CUDA-graph replay (launch overhead amortised over them)."""

    def __post_init__(self) -> None:
        if self.flush not in FLUSH_MODES:
            raise ValueError(f"flush {self.flush!r} is not valid; valid: {', '.join(FLUSH_MODES)}")
        if self.warmup_ms < 0 or self.rep_ms <= 0 or not 1 <= self.min_samples <= self.max_samples:
            raise ValueError("timing budgets must be positive and min_samples <= max_samples")


@dataclass
class Check:
    """Outcome of the correctness check of one case."""

    ok: bool
    rel_error: float
    tolerance: float
    detail: str = ""


class Case(Protocol):
    """What a benchmark family supplies for one point of its sweep. A case may also set
    ``graphable = False`` when its call can't be captured in a CUDA graph (a pageable host
    copy, a copy that waits on another device's stream): ``--cuda-graph`` then times it
    call by call, and its ``timing.cuda_graph`` says false."""

    suite: str
    name: str
    params: dict[str, Any]
    unit: str

    def skip_reason(self, device: Device) -> str | None: ...
    def bytes_needed(self) -> int: ...
    def bytes_per_slot(self) -> int: ...
    def setup(self, device: Device, slots: int) -> None: ...
    def call(self, slot: int) -> None: ...
    def check(self) -> Check: ...
    def metrics(self, seconds: float, device: Device) -> dict[str, Any]: ...
    def teardown(self) -> None: ...


class Telemetry(Protocol):
    """Anything that can summarise device telemetry over the window of one result."""

    def window(self) -> Any: ...


def is_oom(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    text = str(error).lower()
    return (
        "out of memory" in text
        or "can't allocate memory" in text
        or "cannot allocate memory" in text
    )


def _release(device: Device, *, after_error: bool = False) -> None:
    import gc

    # A full collection costs ~0.1 s with torch loaded (15 min over a 10,000-shape CPU sweep).
    # A case's tensors go with their last reference; only an error (its traceback keeps frames
    # alive in a cycle) or CUDA's caching allocator (empty_cache frees unreferenced blocks only)
    # needs one.
    if after_error or device.is_cuda:
        gc.collect()
    if device.is_cuda:
        import torch

        torch.cuda.empty_cache()


class Flusher:
    """Evicts the cache between timed calls by writing a buffer twice the cache's size."""

    def __init__(self, device: Device) -> None:
        import torch

        self.device = device
        nbytes = 2 * device.cache_bytes()
        self.buffer = torch.empty(nbytes // 4, dtype=torch.int32, device=device.torch_device)

    def __call__(self) -> None:
        # fill_ (not zero_) with a changing value so no memset fast path can skip the writes.
        self.buffer.fill_(int(time.perf_counter_ns() & 0x7FFF))


def _slots_for(case: Case, device: Device, config: TimingConfig) -> int:
    """Input sets needed so that rotating over them exceeds twice the cache (capped at 64)."""
    if config.flush != "rotate":
        return 1
    per_slot = max(1, case.bytes_per_slot())
    return int(min(64, max(1, -(-2 * device.cache_bytes() // per_slot))))


class _Timer:
    """Times one call per sample with device events (GPU) or perf_counter_ns (CPU).

    On the GPU each sample is queued as *[flush] spin, start event, call, end event*. The
    spin (``torch.cuda._sleep``, one thread counting clock cycles; it touches no memory, so a
    warm cache stays warm) keeps the GPU busy while the host queues the start event and the
    call. Without it, a call shorter than the host's time to queue it (a few µs of Python and
    dispatch per torch op, tens for a cupy launch) starts on an idle GPU: the start event runs
    at once, the kernel arrives later, and the gap between them is timed as if it were the
    kernel's (on the simulated queue of tests/bench/test_harness.py, 8 µs of launch and a 3 µs
    kernel read 11 µs; no GPU has measured it yet). The flush kernel covers the same gap when
    there is one; the spin also covers the flush's own launch.

    Given a ``clock`` (the telemetry's), it also places each timed call on that clock in
    ``spans`` so the samples taken while the GPU throttled can be flagged one by one. On the
    GPU the first call's start event is anchored at the host time it was queued on an idle
    device (the warm-up ends with a synchronise; only its flush and spin run first, tens of
    µs, well inside NVML's 50 ms between readings), and every later edge is that anchor plus
    the event's offset from the first start event, so queueing ahead of the GPU does not skew
    the placement.
    """

    def __init__(self, device: Device, flush: Callable[[], None] | None,
                 clock: Callable[[], float] | None = None) -> None:
        self.device = device
        self.flush = flush
        self.clock = clock
        self.spans: list[tuple[float, float]] = []

    def time_calls(
        self, fn: Callable[[int], None], count: int, slots: int, start_slot: int = 0
    ) -> list[float]:
        if self.device.is_cuda:
            return self._cuda(fn, count, slots, start_slot)
        return self._cpu(fn, count, slots, start_slot)

    def _cpu(self, fn, count, slots, start_slot) -> list[float]:
        samples, spans, clock = [], [], self.clock
        for i in range(count):
            if self.flush:
                self.flush()
            at = clock() if clock else 0.0
            t0 = time.perf_counter_ns()
            fn((start_slot + i) % slots)
            samples.append((time.perf_counter_ns() - t0) * 1e-9)
            if clock:
                spans.append((at, at + samples[-1]))
        self.spans = spans
        return samples

    def _cuda(self, fn, count, slots, start_slot) -> list[float]:
        import torch

        starts = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
        anchor = 0.0
        for i in range(count):
            if self.flush:
                self.flush()
            torch.cuda._sleep(COVER_CYCLES)
            starts[i].record()
            if i == 0 and self.clock:
                anchor = self.clock()
            fn((start_slot + i) % slots)
            ends[i].record()
        torch.cuda.synchronize(self.device.index)
        if self.clock:
            first = starts[0]
            self.spans = [
                (anchor + first.elapsed_time(s) * 1e-3, anchor + first.elapsed_time(e) * 1e-3)
                for s, e in zip(starts, ends, strict=True)
            ]
        return [s.elapsed_time(e) * 1e-3 for s, e in zip(starts, ends, strict=True)]


def _graphed(case: Case, device: Device, calls: int, slots: int) -> Callable[[int], None]:
    """Capture ``calls`` unrolled calls in one CUDA graph; the returned fn replays it."""
    import torch

    stream = torch.cuda.Stream(device.index)
    stream.wait_stream(torch.cuda.current_stream(device.index))
    with torch.cuda.stream(stream):
        # Warm up on the side stream, as CUDA graph capture requires, every slot the capture
        # will call: a slot's first call may do host work a capture forbids (the cupy backend
        # imports its tensors through __dlpack__, which makes the legacy default stream wait).
        for i in range(max(3, min(calls, slots))):
            case.call(i % slots)
    torch.cuda.current_stream(device.index).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    # Captured on the warmed-up stream: cupy's memory pool keeps freed blocks per stream, so a
    # workspace cupy needs again (cupy.sum's, through CUB) is found there, not allocated
    # mid-capture.
    with torch.cuda.graph(graph, stream=stream):
        for i in range(calls):
            case.call(i % slots)
    return lambda _slot: graph.replay()


def uses_graph(case: Case, device: Device, config: TimingConfig) -> bool:
    """Whether ``case`` is replayed from a CUDA graph: asked for, on a GPU, and capturable."""
    return config.cuda_graph and device.is_cuda and getattr(case, "graphable", True)


def measure(
    case: Case, device: Device, config: TimingConfig, telemetry: Telemetry | None = None
) -> dict[str, Any]:
    """Run the whole protocol on one case and return its result record (never raises for a
    case's own failure: skip, OOM, wrong result and runtime errors become the record's status)."""
    common = {"suite": case.suite, "name": case.name, "params": case.params, "unit": case.unit}
    reason = case.skip_reason(device)
    if reason:
        return make_result(**common, status="skipped", error=reason)
    slots = _slots_for(case, device, config)
    flusher = None
    raised = False
    try:
        device.check_fits(case.bytes_needed() + (slots - 1) * case.bytes_per_slot())
        case.setup(device, slots)
        check = case.check()
        if not check.ok:
            return _wrong_result(common, check)
        if config.flush == "l2":
            flusher = Flusher(device)
        timer = _Timer(device, flusher)
        fn: Callable[[int], None] = case.call
        per_sample_calls = 1
        if uses_graph(case, device, config):
            per_sample_calls = config.graph_calls
            fn = _graphed(case, device, per_sample_calls, slots)
        count = _sample_count(config, _warm_up(timer, fn, config, slots))
        with _window(telemetry) as summary:
            timer.clock = getattr(summary.get("window"), "now", None)
            samples = timer.time_calls(fn, count, slots)
        samples = [s / per_sample_calls for s in samples]
        median = summarize(samples)["median"]
        metrics = case.metrics(median, device)
        _flag_throttled_samples(summary, timer.spans, samples)
        return make_result(
            **common,
            samples=samples,
            metrics=metrics,
            telemetry=summary.get("value"),
            extra={
                "check": _check_doc(check),
                "timing": _timing_doc(config, slots, per_sample_calls),
            },
        )
    except Exception as error:  # noqa: BLE001 - one case's failure must not stop the suite
        raised = True
        return _raised_result(common, error)
    finally:
        del flusher
        try:
            case.teardown()
        finally:
            _release(device, after_error=raised)


def _wrong_result(common: dict[str, Any], check: Check) -> dict[str, Any]:
    """The record of a case whose check failed: not timed, the error says by how much."""
    return make_result(
        **common,
        status="failed",
        error=(
            f"wrong result: relative error {check.rel_error:.3g} > tolerance"
            f" {check.tolerance:.3g} {check.detail}".strip()
        ),
        extra={"check": _check_doc(check)},
    )


def _raised_result(common: dict[str, Any], error: Exception) -> dict[str, Any]:
    """The record of a case that raised: its kind (or ``out of memory``) and the message on one
    line, cut at 300 characters."""
    kind = "out of memory" if is_oom(error) else type(error).__name__
    return make_result(
        **common, status="failed", error=f"{kind}: {' '.join(str(error).split())[:300]}"
    )


def _sample_count(config: TimingConfig, estimate: float) -> int:
    """Samples to fill ``rep_ms`` at ``estimate`` seconds each, within the configured bounds."""
    return int(
        min(
            config.max_samples,
            max(config.min_samples, config.rep_ms * 1e-3 / max(estimate, 1e-9)),
        )
    )


def _warm_up(timer: _Timer, fn: Callable[[int], None], config: TimingConfig, slots: int) -> float:
    """Call ``fn`` until the warm-up budget is spent; return the per-call time estimate (s)."""
    deadline = time.perf_counter() + config.warmup_ms * 1e-3
    estimates: list[float] = []
    while True:
        estimates.extend(timer.time_calls(fn, 1, slots, start_slot=len(estimates)))
        if time.perf_counter() >= deadline and estimates:
            break
    tail = sorted(estimates[-5:])
    return tail[len(tail) // 2]


@contextmanager
def _window(telemetry: Telemetry | None) -> Iterator[dict[str, Any]]:
    """The telemetry window of the timed calls: ``holder["window"]`` while it is open (its
    ``now``, when it has one, places the calls on the telemetry's clock), ``holder["value"]``
    its summary afterwards."""
    holder: dict[str, Any] = {}
    if telemetry is None:
        yield holder
        return
    with telemetry.window() as window:
        holder["window"] = window
        yield holder
    holder["value"] = window.summary() if hasattr(window, "summary") else None


def _flag_throttled_samples(
    holder: dict[str, Any], spans: list[tuple[float, float]], samples: list[float]
) -> None:
    """Per timed sample, not only per result: ``throttled_timings`` lists the indices into
    ``samples`` of the calls measured while the GPU throttled, and ``unthrottled_median_s``
    is the median of the others when only some were (what the result would read unthrottled)."""
    summary, window = holder.get("value"), holder.get("window")
    if summary is None or not spans or not hasattr(window, "throttled_calls"):
        return
    flagged = window.throttled_calls(spans)
    summary["throttled_timings"] = flagged
    if 0 < len(flagged) < len(samples):
        skip = set(flagged)
        summary["unthrottled_median_s"] = summarize(
            [s for i, s in enumerate(samples) if i not in skip]
        )["median"]


def _check_doc(check: Check) -> dict[str, Any]:
    return {"ok": check.ok, "rel_error": check.rel_error, "tolerance": check.tolerance}


def _timing_doc(config: TimingConfig, slots: int, calls_per_sample: int) -> dict[str, Any]:
    return {
        "flush": config.flush,
        "slots": slots,
        "cuda_graph": calls_per_sample > 1,
        "calls_per_sample": calls_per_sample,
        "warmup_ms": config.warmup_ms,
        "rep_ms": config.rep_ms,
    }


def run_cases(
    cases: Iterable[Case],
    device: Device,
    config: TimingConfig,
    *,
    on_result: Callable[[dict[str, Any]], None],
    telemetry: Telemetry | None = None,
) -> None:
    """Measure each case in turn and hand each finished result to ``on_result`` at once (which
    makes it durable), so an interruption loses at most the case in flight."""
    for case in cases:
        on_result(measure(case, device, config, telemetry))
