from __future__ import annotations

import pytest

from exabench.bench.device import Device
from exabench.bench.harness import Check, TimingConfig, _slots_for, measure

CPU = Device("cpu")


class FakeCase:
    """A minimal Case: counts calls, can be told to fail in each phase."""

    suite, name, unit = "fake", "fake", "s"

    def __init__(
        self, *, skip=None, setup_error=None, ok=True, call_error=None, per_slot=1024
    ) -> None:
        self.params = {"x": 1}
        self.skip, self.setup_error, self.ok, self.call_error = skip, setup_error, ok, call_error
        self.per_slot = per_slot
        self.calls = 0
        self.slots_seen: set[int] = set()
        self.torn_down = False

    def skip_reason(self, device):
        return self.skip

    def bytes_needed(self):
        return self.per_slot

    def bytes_per_slot(self):
        return self.per_slot

    def setup(self, device, slots):
        if self.setup_error:
            raise self.setup_error
        self.slots = slots

    def call(self, slot):
        if self.call_error and self.calls > 2:
            raise self.call_error
        self.calls += 1
        self.slots_seen.add(slot)

    def check(self):
        return Check(ok=self.ok, rel_error=0.0 if self.ok else 1.0, tolerance=0.5)

    def metrics(self, seconds, device):
        return {"per_second": 1.0 / seconds}

    def teardown(self):
        self.torn_down = True


FAST = TimingConfig(warmup_ms=1, rep_ms=2, min_samples=5, max_samples=50, flush="none")


def test_every_sample_is_kept_and_bounded() -> None:
    case = FakeCase()
    result = measure(case, CPU, FAST)
    assert result["status"] == "ok"
    assert 5 <= len(result["samples"]) <= 50
    assert result["stats"]["n"] == len(result["samples"])
    assert all(s > 0 for s in result["samples"])
    assert result["metrics"]["per_second"] > 0
    assert case.torn_down


def test_skip_is_recorded_with_reason() -> None:
    result = measure(FakeCase(skip="no tensor cores"), CPU, FAST)
    assert result["status"] == "skipped" and result["error"] == "no tensor cores"


def test_oom_in_setup_is_failed_and_the_reason_kept() -> None:
    result = measure(
        FakeCase(setup_error=RuntimeError("CUDA out of memory. Tried to allocate 80 GiB")),
        CPU,
        FAST,
    )
    assert result["status"] == "failed" and result["error"].startswith("out of memory")


def test_a_raising_benchmark_is_failed_not_fatal() -> None:
    result = measure(
        FakeCase(call_error=RuntimeError("CUDA error: an illegal memory access")), CPU, FAST
    )
    assert result["status"] == "failed" and "illegal memory access" in result["error"]


def test_wrong_result_is_not_timed() -> None:
    case = FakeCase(ok=False)
    result = measure(case, CPU, FAST)
    assert result["status"] == "failed" and result["samples"] == [] and case.calls == 0


def test_rotation_uses_enough_slots_to_exceed_the_cache() -> None:
    config = TimingConfig(warmup_ms=1, rep_ms=2, min_samples=5, max_samples=50, flush="rotate")
    case = FakeCase(per_slot=CPU.cache_bytes() // 4)
    slots = _slots_for(case, CPU, config)
    assert slots * case.per_slot >= 2 * CPU.cache_bytes()
    measure(case, CPU, config)
    assert len(case.slots_seen) == min(slots, case.calls)


def test_l2_flush_mode_runs_on_cpu() -> None:
    config = TimingConfig(warmup_ms=1, rep_ms=2, min_samples=3, max_samples=5, flush="l2")
    assert measure(FakeCase(), CPU, config)["timing"]["flush"] == "l2"


def test_invalid_timing_config() -> None:
    with pytest.raises(ValueError, match="flush"):
        TimingConfig(flush="sometimes")
    with pytest.raises(ValueError):
        TimingConfig(min_samples=10, max_samples=5)


# -- the CUDA timer on a simulated GPU queue ---------------------------------------------------

class _SimulatedGpu:
    """torch.cuda's timing surface over a simulated stream: the host pays a cost to queue each
    operation, the GPU runs them in order, each starting when both the GPU is free and the host
    has queued it; events read the GPU's time. Times in seconds."""

    RECORD_HOST, LAUNCH_HOST, KERNEL_GPU = 2e-6, 8e-6, 3e-6
    CLOCK_HZ = 2e9

    def __init__(self) -> None:
        self.host = self.gpu_free = 0.0
        sim = self

        class Event:
            def __init__(self, enable_timing: bool = False) -> None:
                self.t = None

            def record(self, stream=None) -> None:
                self.t = sim.queue(sim.RECORD_HOST, 0.0)

            def elapsed_time(self, end) -> float:
                return (end.t - self.t) * 1e3

        self.Event = Event

    def queue(self, host_cost: float, gpu_cost: float) -> float:
        self.host += host_cost
        self.gpu_free = max(self.gpu_free, self.host) + gpu_cost
        return self.gpu_free

    def sleep(self, cycles: int) -> None:
        self.queue(3e-6, cycles / self.CLOCK_HZ)

    def kernel(self, slot: int) -> None:
        self.queue(self.LAUNCH_HOST, self.KERNEL_GPU)

    def synchronize(self, device=None) -> None:
        self.host = max(self.host, self.gpu_free)


@pytest.fixture
def gpu(monkeypatch):
    import torch

    sim = _SimulatedGpu()
    monkeypatch.setattr(torch.cuda, "Event", sim.Event)
    monkeypatch.setattr(torch.cuda, "_sleep", sim.sleep)
    monkeypatch.setattr(torch.cuda, "synchronize", sim.synchronize)
    return sim


def test_cuda_samples_time_the_kernel_not_the_launch(gpu) -> None:
    from exabench.bench.harness import _Timer

    samples = _Timer(Device("cuda", 0), None).time_calls(gpu.kernel, 20, 1)
    assert samples == pytest.approx([gpu.KERNEL_GPU] * 20, rel=1e-6)


def test_without_the_spin_a_short_kernel_reads_its_launch_gap(gpu, monkeypatch) -> None:
    from exabench.bench import harness

    monkeypatch.setattr(harness, "COVER_CYCLES", 0)
    samples = harness._Timer(Device("cuda", 0), None).time_calls(gpu.kernel, 20, 1)
    # The start event runs on an idle GPU; the kernel arrives a launch later.
    assert min(samples) == pytest.approx(gpu.LAUNCH_HOST + gpu.KERNEL_GPU, rel=1e-6)


def test_cuda_calls_are_placed_on_the_telemetry_clock(gpu) -> None:
    from exabench.bench.harness import COVER_CYCLES, _Timer

    timer = _Timer(Device("cuda", 0), None, clock=lambda: gpu.host)
    samples = timer.time_calls(gpu.kernel, 5, 1)
    assert [end - start for start, end in timer.spans] == pytest.approx(samples, rel=1e-6)
    # Anchored at the host's time of the first start event: off by at most the first spin.
    period = gpu.KERNEL_GPU + COVER_CYCLES / gpu.CLOCK_HZ
    assert timer.spans[1][0] - timer.spans[0][0] == pytest.approx(period, rel=1e-6)
    spin = COVER_CYCLES / gpu.CLOCK_HZ
    first_start_on_gpu = 3e-6 + spin  # queued after the first spin, which queued at 3 µs
    assert abs(timer.spans[0][0] - first_start_on_gpu) <= spin


# -- CUDA graph capture on a simulated torch.cuda ----------------------------------------------

def test_graph_capture_only_calls_slots_warmed_up_on_the_capture_stream(monkeypatch) -> None:
    import contextlib

    import torch

    from exabench.bench import harness

    state = {"stream": None, "capturing": None}

    class Stream:
        def __init__(self, device=None) -> None:
            pass

        def wait_stream(self, other) -> None:
            pass

    @contextlib.contextmanager
    def use(stream):
        before, state["stream"] = state["stream"], stream
        yield
        state["stream"] = before

    @contextlib.contextmanager
    def capture(graph, stream=None):
        with use(stream if stream is not None else Stream()):
            state["capturing"] = state["stream"]
            yield
            state["capturing"] = None

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: Stream())
    monkeypatch.setattr(torch.cuda, "stream", use)
    monkeypatch.setattr(
        torch.cuda, "CUDAGraph", lambda: type("G", (), {"replay": lambda self: None})()
    )
    monkeypatch.setattr(torch.cuda, "graph", capture)

    warmed, captured = {}, []

    class RotatingCase:
        def call(self, slot: int) -> None:
            if state["capturing"] is None:
                warmed.setdefault(slot, state["stream"])
            else:
                captured.append((slot, state["capturing"]))

    harness._graphed(RotatingCase(), Device("cuda", 0), calls=20, slots=34)
    assert {slot for slot, _ in captured} == set(range(20))
    # Each captured slot had its first call before the capture, on the stream then captured.
    assert all(warmed.get(slot) is stream for slot, stream in captured)


def test_only_capturable_cases_are_replayed_from_a_graph() -> None:
    from exabench.bench.harness import uses_graph
    from exabench.bench.memory.hostlinks import HostCopyCase
    from exabench.bench.memory.peerlinks import PeerCopyCase
    from exabench.bench.memory.stream import StreamCase

    graph = TimingConfig(cuda_graph=True, flush="none")
    gpu = Device("cuda", 0)
    assert uses_graph(StreamCase("triad", 1 << 20), gpu, graph)
    assert not uses_graph(StreamCase("triad", 1 << 20), CPU, graph)
    assert not uses_graph(StreamCase("triad", 1 << 20), gpu, TimingConfig(flush="none"))
    # A pageable host copy can't be captured, nor a copy waiting on another GPU's stream.
    assert not uses_graph(HostCopyCase("h2d", "pageable", 1 << 20), gpu, graph)
    assert not uses_graph(PeerCopyCase(0, 1, "d2d", 1 << 20), gpu, graph)
