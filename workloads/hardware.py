"""Hardware profiles: datasheet peaks, memory, links and power of a GPU, each with its source.

The data lives in ``workloads/hardware/*.toml``. The GEMM benchmark uses :func:`match_device`
to find the dense peak for ``pct_of_peak``; an unknown GPU matches nothing and gets None, never
a guess. The planner builds its richer profile (efficiency curves, measured Runs) on this one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exabench.errors import UserError
from exabench.workloads.tomlfile import read_toml, resolve_spec, shipped_names

PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")


@dataclass(kw_only=True, frozen=True)
class HardwarePeaks:
    """The datasheet side of a GPU: what the numbers are measured against."""

    name: str
    """Short id, the file stem: ``h100-sxm``."""
    description: str
    device_name_patterns: tuple[str, ...]
    """Words of the NVML/torch device name that identify this GPU."""
    device_name_excludes: tuple[str, ...] = ()
    """Words that, also present, name a variant this profile is not (``H200 NVL``: 600 W, PCIe)."""
    peak_tflops: dict[str, float]
    """Dense peak TFLOP/s by precision; a precision the GPU lacks is absent."""
    hbm_bandwidth_gbps: float
    """HBM bandwidth, decimal GB/s."""
    capacity_gb: float
    l2_mb: float
    nvlink_gbps_per_direction: float | None = None
    pcie_gbps_per_direction: float | None = None
    tdp_w: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Source of each section (``peak_tflops``, ``memory``, ``links``, ``power``)."""

    def __post_init__(self) -> None:
        for precision, value in self.peak_tflops.items():
            if precision not in PRECISIONS:
                raise UserError(
                    f"hardware {self.name}: unknown precision {precision!r} in peak_tflops; valid:"
                    f" {', '.join(PRECISIONS)}"
                )
            if not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise UserError(
                    f"hardware {self.name}: peak_tflops.{precision} = {value!r} must be a positive"
                    " number"
                )
        # Optional figures may be absent (None); present, each must be a finite positive number.
        for key, value, optional in (
            ("memory.hbm_bandwidth_gbps", self.hbm_bandwidth_gbps, False),
            ("memory.capacity_gb", self.capacity_gb, False),
            ("links.nvlink_gbps_per_direction", self.nvlink_gbps_per_direction, True),
            ("links.pcie_gbps_per_direction", self.pcie_gbps_per_direction, True),
            ("power.tdp_w", self.tdp_w, True),
        ):
            if optional and value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 < value < math.inf
            ):
                raise UserError(
                    f"hardware {self.name}: {key} = {value!r} is not valid; must be a positive"
                    " number"
                )
        if not (isinstance(self.l2_mb, float) and 0 <= self.l2_mb < math.inf):
            raise UserError(
                f"hardware {self.name}: memory.l2_mb = {self.l2_mb!r} is not valid; must be >= 0"
            )
        for key in ("device_name_patterns", "device_name_excludes"):
            if not all(isinstance(p, str) and p for p in getattr(self, key)):
                raise UserError(f"hardware {self.name}: {key} must be a list of non-empty strings")

    def peak(self, precision: str) -> float | None:
        return self.peak_tflops.get(precision)


def _section(doc: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"{path}: [{key}] must be a table")
    return value


def parse_peaks(doc: dict[str, Any], path: Path) -> HardwarePeaks:
    peaks = dict(_section(doc, "peak_tflops", path))
    memory = _section(doc, "memory", path)
    links = _section(doc, "links", path)
    power = _section(doc, "power", path)
    sources = {
        k: s.pop("source")
        for k, s in (
            ("peak_tflops", peaks),
            ("memory", dict(memory)),
            ("links", dict(links)),
            ("power", dict(power)),
        )
        if "source" in s
    }
    try:
        return HardwarePeaks(
            name=str(doc.get("name") or path.stem),
            description=str(doc.get("description", "")),
            device_name_patterns=tuple(doc.get("device_name_patterns", ())),
            device_name_excludes=tuple(doc.get("device_name_excludes", ())),
            peak_tflops={k: float(v) for k, v in peaks.items()},
            hbm_bandwidth_gbps=float(memory["hbm_bandwidth_gbps"]),
            capacity_gb=float(memory["capacity_gb"]),
            l2_mb=float(memory.get("l2_mb", 0.0)),
            nvlink_gbps_per_direction=links.get("nvlink_gbps_per_direction"),
            pcie_gbps_per_direction=links.get("pcie_gbps_per_direction"),
            tdp_w=power.get("tdp_w"),
            sources=sources,
        )
    except KeyError as error:
        raise UserError(f"{path}: missing {error.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError) as error:
        raise UserError(f"{path}: {error}") from None


def load_peaks(name_or_path: str) -> HardwarePeaks:
    path = resolve_spec("hardware", name_or_path)
    return parse_peaks(read_toml(path), path)


def shipped_peaks() -> list[HardwarePeaks]:
    return [load_peaks(name) for name in shipped_names("hardware")]


def match_device(device_name: str | None) -> HardwarePeaks | None:
    """The shipped profile whose patterns occur in ``device_name``; None when none or several do."""
    if not device_name:
        return None
    hits = [hw for hw in shipped_peaks()
            if any(_names(pattern, device_name) for pattern in hw.device_name_patterns)
            and not any(_names(other, device_name) for other in hw.device_name_excludes)]
    return hits[0] if len(hits) == 1 else None


def _names(pattern: str, device_name: str) -> bool:
    """``pattern`` occurs in ``device_name`` as whole words: "H200" names "NVIDIA H200" but not
    "NVIDIA GH200 480GB" (a Grace Hopper superchip: other power and memory)."""
    return (
        re.search(
            rf"(?<![A-Za-z0-9]){re.escape(pattern)}(?![A-Za-z0-9])", device_name, re.IGNORECASE
        )
        is not None
    )
