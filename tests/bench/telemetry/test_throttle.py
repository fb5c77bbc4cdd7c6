"""Clocks-event reason decoding, table-driven against the nvml.h bits."""

from __future__ import annotations

import pytest

from exabench.bench.telemetry import throttle

# (mask, all names, throttling names)
CASES = [
    (0x0, [], []),
    (None, [], []),
    (0x1, ["GpuIdle"], []),
    (0x2, ["ApplicationsClocksSetting"], []),
    (0x4, ["SwPowerCap"], ["SwPowerCap"]),
    (0x8, ["HwSlowdown"], ["HwSlowdown"]),
    (0x10, ["SyncBoost"], []),
    (0x20, ["SwThermalSlowdown"], ["SwThermalSlowdown"]),
    (0x40, ["HwThermalSlowdown"], ["HwThermalSlowdown"]),
    (0x80, ["HwPowerBrakeSlowdown"], ["HwPowerBrakeSlowdown"]),
    (0x100, ["DisplayClockSetting"], []),
    (0x1 | 0x4, ["GpuIdle", "SwPowerCap"], ["SwPowerCap"]),
    (
        0x4 | 0x20 | 0x80,
        ["SwPowerCap", "SwThermalSlowdown", "HwPowerBrakeSlowdown"],
        ["SwPowerCap", "SwThermalSlowdown", "HwPowerBrakeSlowdown"],
    ),
    (
        0x1 | 0x2 | 0x10 | 0x100,
        ["GpuIdle", "ApplicationsClocksSetting", "SyncBoost", "DisplayClockSetting"],
        [],
    ),
    (0x1000, ["Unknown0x1000"], []),
]


@pytest.mark.parametrize(("mask", "names", "throttling"), CASES)
def test_decode(mask, names, throttling) -> None:
    assert throttle.decode(mask) == names
    assert throttle.throttle_reasons(mask) == throttling
    assert throttle.is_throttled(mask) is bool(throttling)


def test_bits_match_pynvml_constants() -> None:
    pynvml = pytest.importorskip("pynvml")
    for reason in throttle.REASONS:
        constant = getattr(pynvml, f"nvmlClocksThrottleReason{reason.name}", None)
        if constant is not None:
            assert constant == reason.bit, reason.name


def test_every_bit_is_one_distinct_power_of_two() -> None:
    bits = [r.bit for r in throttle.REASONS]
    assert len(set(bits)) == len(bits) and all(b & (b - 1) == 0 for b in bits)
    assert throttle.THROTTLE_MASK & 0x1 == 0  # idle is never throttling
