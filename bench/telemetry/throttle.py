"""NVML clocks-event (throttle) reasons: the bitmask of
``nvmlDeviceGetCurrentClocksEventReasons`` (``…ThrottleReasons`` before R535), decoded to names.

Bits from ``nvml.h`` (``nvmlClocksEventReason*``; nvidia-ml-py exposes the same values). Only
reasons that pull the
clocks below what the benchmark would otherwise get count as throttling: an idle GPU, clocks
set by the administrator, sync boost across a group and the display clock are states, not
throttling, so a result measured under them is not flagged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    bit: int
    name: str
    throttles: bool
    """True when the reason lowers clocks against the workload's will (power, heat, hardware)."""
    meaning: str


REASONS: tuple[Reason, ...] = (
    Reason(0x1, "GpuIdle", False, "nothing running; clocks idle"),
    Reason(0x2, "ApplicationsClocksSetting", False, "clocks set by nvidia-smi -ac / locked clocks"),
    Reason(0x4, "SwPowerCap", True, "the power limit: the driver lowers clocks to stay under it"),
    Reason(
        0x8,
        "HwSlowdown",
        True,
        "hardware slowdown (>=2x clock cut): temperature, power brake or fast trigger",
    ),
    Reason(0x10, "SyncBoost", False, "held to the clock of a sync-boost group"),
    Reason(
        0x20, "SwThermalSlowdown", True, "the driver lowers clocks for GPU or memory temperature"
    ),
    Reason(0x40, "HwThermalSlowdown", True, "the hardware lowers clocks for temperature"),
    Reason(
        0x80,
        "HwPowerBrakeSlowdown",
        True,
        "the external power brake (the node's power supply) asserted",
    ),
    Reason(0x100, "DisplayClockSetting", False, "held to the display clock"),
    Reason(0x200, "BoardLimit", True, "a board-level limit (newer drivers)"),
    Reason(0x400, "Reliability", True, "a reliability voltage limit (newer drivers)"),
)
BY_BIT = {r.bit: r for r in REASONS}
THROTTLE_MASK = sum(r.bit for r in REASONS if r.throttles)


def decode(mask: int | None) -> list[str]:
    """Names of the bits set in ``mask``, lowest bit first; unknown bits as ``Unknown0x...``."""
    if not mask:
        return []
    names = []
    bit = 1
    while bit <= mask:
        if mask & bit:
            names.append(BY_BIT[bit].name if bit in BY_BIT else f"Unknown{bit:#x}")
        bit <<= 1
    return names


def throttle_reasons(mask: int | None) -> list[str]:
    """Only the names that count as throttling."""
    return decode((mask or 0) & THROTTLE_MASK)


def is_throttled(mask: int | None) -> bool:
    return bool((mask or 0) & THROTTLE_MASK)


def is_idle(mask: int | None) -> bool:
    return bool((mask or 0) & 0x1)
