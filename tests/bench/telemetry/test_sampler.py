"""The NVML sampler on a fake NVML (injected): samples, per-window summaries, energy from the
counter or integrated power, throttle flags, the run summary, and its wiring into `bench`."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from exabench.bench.device import Device
from exabench.bench.telemetry import sampler as telemetry
from exabench.bench.telemetry.sampler import NvmlSampler, add_work_figures, open_sampler
from exabench.cli import cli


class NVMLError(Exception):
    pass


@dataclass
class Util:
    gpu: int
    memory: int


class FakeNvml:
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0

    def __init__(
        self,
        *,
        power_w: float = 500.0,
        sm_mhz: int = 1980,
        mem_mhz: int = 2619,
        temp_c: int = 60,
        reasons: int = 0,
        energy: bool = True,
        init_fails: bool = False,
    ) -> None:
        self.power_w, self.sm_mhz, self.mem_mhz, self.temp_c = power_w, sm_mhz, mem_mhz, temp_c
        self.reasons = reasons
        self.energy = energy
        self.energy_mj = 1_000_000
        self.init_fails = init_fails
        self.calls: dict[str, int] = {}
        self.shut_down = False

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def nvmlInit(self) -> None:
        if self.init_fails:
            raise NVMLError("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"handle{index}"

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        raise NVMLError("not found")

    def nvmlDeviceGetName(self, handle: str) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        self._count("power")
        return int(self.power_w * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        self._count("energy")
        if not self.energy:
            raise NVMLError("Not Supported")
        return self.energy_mj

    def nvmlDeviceGetClockInfo(self, handle: str, kind: int) -> int:
        return self.sm_mhz if kind == self.NVML_CLOCK_SM else self.mem_mhz

    def nvmlDeviceGetTemperature(self, handle: str, sensor: int) -> int:
        return self.temp_c

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Util:
        return Util(gpu=100, memory=80)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: str) -> int:
        return self.reasons


class FakeClock:
    """A clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sampler_for(nvml: FakeNvml, clock: FakeClock, hz: float = 10.0) -> NvmlSampler:
    return NvmlSampler(nvml, "handle0", hz=hz, label="fake", gpu=0, clock=clock)


def test_sample_reads_every_field_in_units() -> None:
    nvml, clock = FakeNvml(power_w=512.5, reasons=0x4), FakeClock()
    s = sampler_for(nvml, clock)
    clock.now += 0.25
    s.sample_once()
    assert s.rows == [(0.25, 512.5, 1980, 2619, 60, 100, 80, 0x4)]


def test_window_uses_the_energy_counter_and_flags_power_cap() -> None:
    nvml, clock = FakeNvml(power_w=600.0), FakeClock()
    s = sampler_for(nvml, clock)
    with s.window() as win:
        for power, reasons in ((600.0, 0x0), (700.0, 0x4)):
            clock.now += 0.1
            nvml.power_w, nvml.reasons = power, reasons
            s.sample_once()
        clock.now += 0.3
        nvml.energy_mj += 260_000  # 260 J over 0.5 s
    summary = win.summary()
    assert summary["energy_source"] == "nvml_total_energy"
    assert summary["energy_j"] == pytest.approx(260.0)
    assert summary["duration_s"] == pytest.approx(0.5)
    assert summary["power_mean_w"] == pytest.approx(520.0)  # energy / duration
    assert summary["power_max_w"] == 700.0
    assert summary["reasons"] == ["SwPowerCap"] and summary["throttle_reasons"] == ["SwPowerCap"]
    assert summary["throttled"] is True and summary["throttled_samples"] == 1


def test_without_energy_counter_power_is_integrated_and_says_so() -> None:
    nvml, clock = FakeNvml(power_w=400.0, energy=False), FakeClock()
    s = sampler_for(nvml, clock)
    with s.window() as win:
        clock.now += 0.5
        s.sample_once()
        clock.now += 0.5
    summary = win.summary()
    assert summary["energy_source"].startswith("integrated_power (no energy counter")
    assert summary["energy_j"] == pytest.approx(400.0)  # 400 W held over 1 s
    assert summary["power_mean_w"] == pytest.approx(400.0)
    assert s.energy_counter is False
    assert nvml.calls["energy"] == 1  # not supported: asked once, then never again


def test_a_counter_that_does_not_advance_falls_back_to_integration() -> None:
    nvml, clock = FakeNvml(power_w=300.0), FakeClock()
    s = sampler_for(nvml, clock)
    with s.window() as win:
        clock.now += 0.02
        s.sample_once()
        clock.now += 0.02
    summary = win.summary()
    assert summary["energy_source"] == "integrated_power (energy counter did not advance)"
    assert summary["energy_j"] == pytest.approx(300.0 * 0.04)


def test_idle_and_benign_reasons_do_not_count_as_throttling() -> None:
    nvml, clock = FakeNvml(), FakeClock()
    s = sampler_for(nvml, clock)
    with s.window() as win:
        for sm, reasons in ((345, 0x1), (1980, 0x10 | 0x2), (1755, 0x0)):
            clock.now += 0.1
            nvml.sm_mhz, nvml.reasons = sm, reasons
            s.sample_once()
    summary = win.summary()
    assert summary["throttled"] is False and summary["throttle_reasons"] == []
    assert summary["reasons"] == ["GpuIdle", "ApplicationsClocksSetting", "SyncBoost"]
    assert summary["sm_clock_min_mhz"] == 1755  # the idle sample's clock is left out


def test_thread_samples_and_run_summary_has_a_timeline() -> None:
    nvml = FakeNvml(reasons=0x40)
    s = NvmlSampler(nvml, "handle0", hz=200.0, label="fake", gpu=3).start()
    try:
        with s.window() as win:
            deadline = 0
            while len(s.rows) < 3 and deadline < 500:  # wait for samples, not for a time
                import time

                time.sleep(0.005)
                deadline += 1
    finally:
        s.close()
    assert nvml.shut_down
    assert win.summary()["samples"] >= 1
    run = s.run_summary()
    assert run["samples"] >= 3 and run["hz"] == 200.0 and run["gpu"] == 3
    first = run["timeline"][0]
    assert first["gpu"] == 3 and first["reasons"] == 0x40 and first["throttled"] is True
    assert run["throttle_reasons"] == ["HwThermalSlowdown"]
    json.dumps(run)  # JSON-serialisable as it goes into the Run


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        NvmlSampler(FakeNvml(), "h", hz=0)


def test_no_sampler_on_cpu_without_nvml_or_when_disabled() -> None:
    assert open_sampler(Device("cpu"), nvml=FakeNvml()) == (None, "no GPU: no telemetry")
    sampler, why = open_sampler(Device("cuda", 0), nvml=FakeNvml(init_fails=True))
    assert sampler is None and "NVML unavailable" in why
    assert open_sampler(Device("cuda", 0), hz=0, nvml=FakeNvml())[0] is None


def test_open_sampler_falls_back_to_the_index_handle() -> None:
    sampler, why = open_sampler(Device("cuda", 0), hz=50, nvml=FakeNvml())
    try:
        assert (
            why is None and sampler.handle == "handle0" and sampler.label == "NVIDIA H100 80GB HBM3"
        )
    finally:
        sampler.close()


@pytest.mark.parametrize(("metrics", "key", "expected"), [
    ({"flop": 2 * 8192**3}, "j_per_tflop", 500.0 * 1e-3 / (2 * 8192**3 / 1e12)),
    ({"bytes_moved": 2 * 2**30}, "j_per_gb", 500.0 * 1e-3 / (2 * 2**30 / 1e9)),
])
def test_work_figures_per_call_and_per_unit_of_work(metrics, key, expected) -> None:
    result = {"status": "ok", "stats": {"median": 1e-3}, "metrics": metrics,
              "telemetry": {"power_mean_w": 500.0}}
    add_work_figures(result)
    assert result["telemetry"]["energy_per_call_j"] == pytest.approx(0.5)
    assert result["telemetry"][key] == pytest.approx(expected)


def test_work_figures_leave_results_without_telemetry_alone() -> None:
    result = {"status": "ok", "stats": {"median": 1e-3}, "metrics": {}, "telemetry": None}
    add_work_figures(result)
    assert result["telemetry"] is None


def test_bench_wires_a_sampler_into_every_result_and_the_run(tmp_path, monkeypatch) -> None:
    """The CLI path with telemetry, on the CPU: a fake-NVML sampler stands in for a GPU's."""
    nvml = FakeNvml(power_w=650.0, reasons=0x4)
    made = []

    def fake_open(device, hz=telemetry.DEFAULT_HZ, nvml_module=None):
        sampler = NvmlSampler(nvml, "handle0", hz=200.0, label="fake", gpu=0).start()
        made.append(sampler)
        return sampler, None

    monkeypatch.setattr(telemetry, "open_sampler", fake_open)
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "memory",
            "--device",
            "cpu",
            "--kernels",
            "copy",
            "--sizes",
            "1Mi",
            "--warmup-ms",
            "1",
            "--rep-ms",
            "20",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "OK THROTTLED" in result.output
    doc = json.loads(next(tmp_path.glob("*.json")).read_text())
    tel = doc["results"][0]["telemetry"]
    assert tel["throttled"] is True and tel["throttle_reasons"] == ["SwPowerCap"]
    assert tel["energy_per_call_j"] > 0 and tel["j_per_gb"] > 0
    assert doc["telemetry"]["throttled"] is True and doc["telemetry"]["timeline"]
    assert nvml.shut_down and not made[0]._thread.is_alive()


# -- throttling flagged per timed call, not only per result ---------------------------------

@pytest.mark.parametrize(("rows", "spans", "flagged"), [
    # The state read at or before a call's start holds through it (zero-order hold).
    ([(0.0, 0), (1.0, 0x4)], [(0.5, 0.6), (1.2, 1.3), (2.0, 2.1)], [1, 2]),
    # A reading inside the call counts; one after it does not.
    ([(0.0, 0), (0.55, 0x20), (0.7, 0)], [(0.5, 0.6), (0.65, 0.66), (0.71, 0.8)], [0, 1]),
    # Idle and application clocks are states, not throttling.
    ([(0.0, 0x1 | 0x2)], [(0.1, 0.2)], []),
    # No reading yet at the call's start: only readings inside it decide.
    ([(0.3, 0x4)], [(0.1, 0.2), (0.25, 0.35)], [1]),
    ([], [(0.1, 0.2)], []),
])
def test_throttled_spans(rows, spans, flagged) -> None:
    from exabench.bench.telemetry.summary import throttled_spans

    full = [(t, 500.0, 1980, 2619, 60, 100, 80, reasons) for t, reasons in rows]
    assert throttled_spans(full, spans) == flagged


class _OpensWindows(NvmlSampler):
    opened = False

    def window(self):
        self.opened = True
        return super().window()


class _PowerCapHitsMidway:
    """A case whose sixth timed call sees NVML report SwPowerCap (the reading lands after that
    call ends, on the sampler's clock, which each call moves by 0.5 s)."""

    suite, name, unit, params = "fake", "capped", "s", {}

    def __init__(self, sampler, nvml, clock) -> None:
        self.sampler, self.nvml, self.clock, self.timed = sampler, nvml, clock, 0

    def skip_reason(self, device): return None
    def bytes_needed(self): return 1
    def bytes_per_slot(self): return 1
    def setup(self, device, slots): pass
    def teardown(self): pass

    def check(self):
        from exabench.bench.harness import Check

        return Check(ok=True, rel_error=0.0, tolerance=0.0)

    def metrics(self, seconds, device): return {}

    def call(self, slot):
        self.clock.now += 0.5
        if self.sampler.opened:
            self.timed += 1
            if self.timed == 6:
                self.nvml.reasons = 0x4
                self.sampler.sample_once()
            self.clock.now += 0.5


def test_each_timed_call_measured_while_throttled_is_flagged() -> None:
    from exabench.bench.harness import TimingConfig, measure

    nvml, clock = FakeNvml(reasons=0), FakeClock()
    sampler = _OpensWindows(nvml, "handle0", hz=10.0, label="fake", gpu=0, clock=clock)
    sampler.sample_once()
    case = _PowerCapHitsMidway(sampler, nvml, clock)
    config = TimingConfig(warmup_ms=0, rep_ms=1e-3, min_samples=12, max_samples=12, flush="none")
    result = measure(case, Device("cpu"), config, telemetry=sampler)
    tel = result["telemetry"]
    assert result["status"] == "ok" and len(result["samples"]) == 12
    assert tel["throttled"] and tel["throttle_reasons"] == ["SwPowerCap"]
    assert tel["throttled_timings"] == list(range(6, 12))  # the calls after the reading, not before
    assert tel["unthrottled_median_s"] == statistics.median(result["samples"][:6])


def test_an_unthrottled_window_flags_no_call() -> None:
    from exabench.bench.harness import TimingConfig, measure

    nvml, clock = FakeNvml(reasons=0x1), FakeClock()  # idle is not throttling
    sampler = _OpensWindows(nvml, "handle0", hz=10.0, label="fake", gpu=0, clock=clock)
    sampler.sample_once()
    config = TimingConfig(warmup_ms=0, rep_ms=1e-3, min_samples=5, max_samples=5, flush="none")
    tel = measure(
        _PowerCapHitsMidway(sampler, nvml, clock), Device("cpu"), config, telemetry=sampler
    )["telemetry"]
    assert tel["throttled_timings"] == [] and "unthrottled_median_s" not in tel


@pytest.mark.parametrize(("known", "handle"), [
    ({"GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006": "board"}, "board"),
    ({"MIG-6b1c1f8e-0000-4c3a-9b7d-000000000006": "instance"}, "instance"),  # a MIG instance's UUID
    ({}, "handle3"),  # neither: the CUDA index
])
def test_the_nvml_handle_is_found_by_uuid_in_either_spelling(monkeypatch, known, handle) -> None:
    import torch

    class ByUuid(FakeNvml):
        def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
            if uuid not in known:
                raise NVMLError("Not Found")
            return known[uuid]

    props = type("Props", (), {"uuid": "6b1c1f8e-0000-4c3a-9b7d-000000000006"})()
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    assert telemetry._handle_for(ByUuid(), 3) == handle
