from __future__ import annotations

import pytest

from exabench.bench.device import Device
from exabench.bench.harness import Check, TimingConfig, _slots_for, measure

CPU = Device("cpu")


class FakeCase:
    """A minimal Case: counts calls, can be told to fail in each phase."""

    suite, name, unit = "fake", "fake", "s"

    def __init__(self, *, skip=None, setup_error=None, ok=True, call_error=None, per_slot=1024) -> None:
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
    result = measure(FakeCase(setup_error=RuntimeError("CUDA out of memory. Tried to allocate 80 GiB")), CPU, FAST)
    assert result["status"] == "failed" and result["error"].startswith("out of memory")


def test_a_raising_benchmark_is_failed_not_fatal() -> None:
    result = measure(FakeCase(call_error=RuntimeError("CUDA error: an illegal memory access")), CPU, FAST)
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
