from __future__ import annotations

import pytest

from exabench.errors import UserError
from exabench.workloads.hardware import load_peaks, match_device, shipped_peaks


def test_shipped_profiles_have_sources_and_peaks() -> None:
    names = {hw.name for hw in shipped_peaks()}
    assert {"h100-sxm", "h100-pcie", "h200-sxm", "a100-sxm"} <= names
    for hw in shipped_peaks():
        assert hw.sources.get("peak_tflops")
        assert hw.peak("bf16") and hw.hbm_bandwidth_gbps > 0


@pytest.mark.parametrize("device_name, expected", [
    ("NVIDIA H100 80GB HBM3", "h100-sxm"),
    ("NVIDIA H100 PCIe", "h100-pcie"),
    ("NVIDIA H200", "h200-sxm"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm"),
    ("NVIDIA GeForce RTX 4090", None),
    ("NVIDIA GH200 480GB", None),  # Grace Hopper: "H200" is not a word of its name
    ("NVIDIA H200 NVL", None),     # the PCIe variant: excluded
    ("NVIDIA H100 NVL", None),
    ("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "h100-sxm"),
    ("", None),
])
def test_match_device(device_name: str, expected: str | None) -> None:
    hw = match_device(device_name)
    assert (hw.name if hw else None) == expected


def test_h100_peaks_from_the_datasheet() -> None:
    hw = load_peaks("h100-sxm")
    assert hw.peak("bf16") == 989.4 and hw.peak("fp8") == 1978.9 and hw.peak("tf32") == 494.7
    assert load_peaks("a100-sxm").peak("fp8") is None  # Ampere has no fp8: never a guess


def test_unknown_hardware_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown hardware"):
        load_peaks("tpu-v9")
