"""The planner's hardware profile: datasheet peaks plus achievable-efficiency curves.

Two origins, and a Plan always says which value came from where (``provenance``):

- **published**: ``workloads/hardware/<name>.toml`` (peaks, and the ``[gemm_efficiency]``,
  ``[attention_efficiency]``, ``[hbm_efficiency]``, ``[nvlink_busbw]`` sections), each with
  its source;
- **measured**: a Run document (``--hardware results/run.json``) laid over the reference
  profile of the GPU it ran on; that is analysis (:mod:`exabench.analysis.measured`). Here:
  the measured Runs that ship (``workloads/measured/*.json``) and the GPU each ran on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exabench.documents.run import Run, load_run
from exabench.errors import UserError
from exabench.workloads.curve import Curve
from exabench.workloads.hardware import HardwarePeaks, match_device, parse_peaks
from exabench.workloads.tomlfile import DATA_DIR, read_toml, resolve_spec


@dataclass(kw_only=True, frozen=True)
class HardwareProfile:
    peaks: HardwarePeaks
    gemm: dict[str, Curve]
    """GEMM efficiency (fraction of the dense peak) by GFLOP per call, per precision."""
    attention: dict[str, float]
    """Fused-attention forward+backward efficiency, fraction of the dense peak."""
    hbm: Curve
    """HBM efficiency (fraction of the datasheet bandwidth) by MB per kernel."""
    nvlink_all_reduce: Curve
    """All-reduce bus bandwidth in the NVLink domain, GB/s, by message MB."""
    nvlink_ring: Curve
    """Reduce-scatter / all-gather / all-to-all bus bandwidth in the NVLink domain, GB/s, by MB."""
    p2p_gbps: float
    scaleout_gbps: float | None = None
    """Measured scale-out bus bandwidth per GPU, GB/s: the all-reduce plateau of a Run whose
    ranks span several nodes (:func:`exabench.analysis.measured.scaleout_plateau`). None (every
    reference profile): the cluster's NIC line rate x its ``nic_efficiency`` is used."""
    scaleout_span_gpus: int = 0
    """GPUs (ranks) that measurement spanned: a group that climbs no more switch levels saw
    the same fabric; one that climbs more adds the fabric model's path efficiency."""
    node_spread: float = 0.0
    """Max-min spread of per-GPU matmul throughput within one 8-GPU node (fraction)."""
    sms: int = 0
    """Streaming multiprocessors (132 on an H100 SXM): the GEMM tile waves run over them.
    0: unknown, no wave quantization."""
    attention_kernels: dict[str, Curve] = field(default_factory=dict)
    """Fused-attention kernel throughput, TFLOP/s (causal FLOPs halved) by sequence length,
    per kernel and pass: ``fa2_fwd``, ``fa2_bwd``, ``fa3_fwd``, ``cudnn_bwd``, ..."""
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    """For each quantity: ``{"kind": measured|published|assumed, "source": ...}``."""
    run_id: str | None = None

    @property
    def name(self) -> str:
        return self.peaks.name

    def peak_flops(self, precision: str) -> float:
        peak = self.peaks.peak(precision)
        if peak is None:
            valid = ", ".join(p for p in ("bf16", "fp16", "fp8") if self.peaks.peak(p))
            raise UserError(f"precision {precision!r} is not available on {self.name}; "
                            f"valid: {valid}")
        return peak * 1e12

    def gemm_efficiency(self, precision: str, flops: float) -> float:
        curve = self.gemm.get(precision) or self.gemm.get("bf16")
        assert curve is not None, "every profile has a bf16 GEMM curve"
        return curve(flops / 1e9)

    def hbm_bytes_per_s(self, nbytes: float) -> float:
        return self.peaks.hbm_bandwidth_gbps * 1e9 * self.hbm(nbytes / 1e6)

    def nvlink_busbw(self, collective: str, nbytes: float) -> float:
        """Bus bandwidth in bytes/s for a collective inside the NVLink domain."""
        curve = self.nvlink_all_reduce if collective == "all_reduce" else self.nvlink_ring
        return curve(nbytes / 1e6) * 1e9


def _curve(section: dict[str, Any], x_key: str, y_key: str, where: str) -> Curve:
    try:
        return Curve(xs=tuple(float(x) for x in section[x_key]),
                     ys=tuple(float(y) for y in section[y_key]))
    except KeyError as error:
        raise UserError(f"{where}: missing {error.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError) as error:
        raise UserError(f"{where}: {error}") from None


def _number(where: str, value: Any, low: float, high: float, *, low_ok: bool = False) -> float:
    """A float in (low, high] ([low, high] with ``low_ok``); a one-line UserError otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    above_low = low <= number if low_ok else low < number
    if isinstance(value, bool) or not above_low or not number <= high:
        raise UserError(f"{where} = {value!r} is not valid; must be a number in "
                        f"{'[' if low_ok else '('}{low:g}, {high:g}]")
    return number


SECTIONS = ("gemm_efficiency", "attention_efficiency", "hbm_efficiency", "nvlink_busbw")
"""The tables of a hardware TOML the planner needs, each with its ``source``."""


def parse_profile(doc: dict[str, Any], path: Path) -> HardwareProfile:
    peaks = parse_peaks(doc, path)
    sections = {k: doc.get(k) for k in SECTIONS}
    missing = [k for k, v in sections.items() if not isinstance(v, dict)]
    if missing:
        raise UserError(f"{path}: the planner needs a [{missing[0]}] table "
                        "(see workloads/hardware/h100-sxm.toml)")
    gemm_doc = sections["gemm_efficiency"]
    gemm = {p: _curve(gemm_doc, "gflops", p, f"{path} [gemm_efficiency]")
            for p in ("bf16", "fp16", "fp8", "tf32") if p in gemm_doc}
    if "bf16" not in gemm:
        raise UserError(f"{path}: [gemm_efficiency] needs a bf16 curve")
    att = {p: _number(f"{path}: attention_efficiency.{p}", v, 0.0, 1.0)
           for p, v in sections["attention_efficiency"].items() if p != "source"}
    link = sections["nvlink_busbw"]
    prov = {key: {"kind": "published", "source": str(sections[key].get("source", ""))}
            for key in SECTIONS}
    variability = doc.get("variability", {}) if isinstance(doc.get("variability"), dict) else {}
    prov["variability"] = {"kind": "published" if variability else "assumed",
                           "source": str(variability.get("source", "none: GPUs assumed identical"))}
    prov["peak_tflops"] = {"kind": "published", "source": peaks.sources.get("peak_tflops", "")}
    compute, kernels = _optional(doc, "compute", path), _optional(doc, "attention_kernels", path)
    for key, table in (("compute", compute), ("attention_kernels", kernels)):
        if table:
            prov[key] = {"kind": "published", "source": str(table.get("source", ""))}
    prov["memory"] = {"kind": "published", "source": peaks.sources.get("memory", "")}
    return HardwareProfile(
        peaks=peaks, gemm=gemm, attention=att,
        hbm=_curve(sections["hbm_efficiency"], "mbytes", "efficiency", f"{path} [hbm_efficiency]"),
        nvlink_all_reduce=_curve(link, "mbytes", "all_reduce", f"{path} [nvlink_busbw]"),
        nvlink_ring=_curve(link, "mbytes", "ring", f"{path} [nvlink_busbw]"),
        p2p_gbps=_number(f"{path}: nvlink_busbw.p2p_gbps",
                         link.get("p2p_gbps", 0.8 * (peaks.nvlink_gbps_per_direction or 50.0)),
                         0.0, math.inf),
        node_spread=_number(f"{path}: variability.node_spread",
                            variability.get("node_spread", 0.0), 0.0, 0.99, low_ok=True),
        sms=int(_number(f"{path}: compute.sms", compute.get("sms", 0), 0.0, 10_000.0,
                        low_ok=True)),
        attention_kernels={k: _curve(kernels, "seq", k, f"{path} [attention_kernels]")
                           for k in kernels if k not in ("seq", "source")},
        provenance=prov,
    )


def _optional(doc: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    """An optional table of a hardware TOML; empty when absent, an error when not a table."""
    table = doc.get(key, {})
    if not isinstance(table, dict):
        raise UserError(f"{path}: [{key}] must be a table (see workloads/hardware/h100-sxm.toml)")
    return table


def load_reference(name_or_path: str) -> HardwareProfile:
    path = resolve_spec("hardware", name_or_path)
    return parse_profile(read_toml(path), path)


MEASURED_SUFFIX = "-measured"
MEASURED_DIR = DATA_DIR / "measured"
"""Runs measured on real GPUs that ship with exabench (``workloads/measured/*.json``)."""


def shipped_measured() -> list[tuple[str, Run]]:
    """``(profile name, Run)`` of every shipped measured Run on a GPU a profile matches,
    newest first (by the Run's ``created``)."""
    found = []
    for path in sorted(MEASURED_DIR.glob("*.json")):
        run = load_run(path)
        matched = match_device(run_device_name(run))
        if matched is not None:
            found.append((matched.name, run))
    return sorted(found, key=lambda item: str(item[1].get("created", "")), reverse=True)


def first_device(run: Run) -> dict[str, Any]:
    """The Run's first GPU as ``exabench env`` recorded it; empty without one."""
    devices = ((run.get("environment") or {}).get("gpu") or {}).get("devices") or []
    return devices[0] if devices and isinstance(devices[0], dict) else {}


def run_device_name(run: Run) -> str | None:
    """The name of the Run's first GPU (``NVIDIA H100 80GB HBM3``); None without one."""
    return first_device(run).get("name")
