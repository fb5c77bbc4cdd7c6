"""The NVML names the code calls, checked against the real nvidia-ml-py (``import pynvml``).

The sampler and the environment capture are tested on a fake NVML; these tests keep the fake
honest without a GPU: every ``nvml*`` function and ``NVML_*`` constant the sources use exists
in the installed package, the fake's constants equal the real ones, and the throttle bits of
``bench/telemetry/throttle.py`` equal the masks ``nvml.h`` defines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exabench.bench.telemetry import throttle

pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is in the [bench] extra")

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "bench").rglob("*.py")) + sorted((ROOT / "exabench").rglob("*.py"))
NAME = re.compile(r"\.(nvml[A-Z]\w+|NVML_[A-Z0-9_]+)\b")


def _names_used() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        names.update(NAME.findall(text))
        # Names reached through getattr(nvml, "...") are written as strings.
        names.update(re.findall(r"[\"'](nvml[A-Z]\w+)[\"']", text))
    return names


def test_the_sources_use_nvml_at_all() -> None:
    used = _names_used()
    assert {"nvmlInit", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption"} <= used


def test_every_nvml_name_the_code_uses_exists_in_pynvml() -> None:
    missing = sorted(name for name in _names_used() if not hasattr(pynvml, name))
    assert missing == [], f"not in nvidia-ml-py {getattr(pynvml, '__version__', '')}: {missing}"


def test_the_fake_nvmls_constants_equal_the_real_ones() -> None:
    """The fakes in the telemetry sampler and topology tests set NVML_* constants by hand."""
    found = {}
    for test in ("bench/telemetry/test_sampler.py", "bench/collectives/test_topology.py"):
        text = (ROOT / "tests" / test).read_text(encoding="utf-8")
        found.update(re.findall(r"\b(NVML_[A-Z0-9_]+) = (\d+)", text))
    assert len(found) >= 4
    for name, value in found.items():
        assert getattr(pynvml, name) == int(value), name


@pytest.mark.parametrize("reason", throttle.REASONS, ids=lambda r: r.name)
def test_throttle_bits_equal_nvml_h(reason: throttle.Reason) -> None:
    real = getattr(pynvml, f"nvmlClocksEventReason{reason.name}", None)
    if real is None:  # BoardLimit and Reliability exist under the older name only
        real = getattr(pynvml, f"nvmlClocksThrottleReason{reason.name}")
    assert reason.bit == real
