"""The planner's hardware profile: datasheet peaks plus achievable-efficiency curves.

Two origins, and a Plan always says which value came from where (``provenance``):

- **published**: ``workloads/hardware/<name>.toml`` (peaks, and the ``[gemm_efficiency]``,
  ``[attention_efficiency]``, ``[hbm_efficiency]``, ``[nvlink_busbw]`` sections), each with
  its source;
- **measured**: a Run document (``--hardware results/run.json``): GEMM efficiency over the
  shapes it timed, HBM bandwidth from the memory suite, bus bandwidth from the collectives
  suite. What the Run didn't measure comes from the reference profile of the same GPU.

A Run measured on a device no shipped profile matches (a CPU, say) never passes for a GPU:
the reference profile is used and the provenance says why.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from exabench.errors import UserError
from exabench.workloads.collectives import RING_COLLECTIVES
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
    ranks span several nodes (:func:`scaleout_plateau`). None (every reference profile): the
    cluster's NIC line rate x its ``nic_efficiency`` is used."""
    scaleout_span_gpus: int = 0
    """GPUs (ranks) that measurement spanned: a group that climbs no more switch levels saw
    the same fabric; one that climbs more adds the fabric model's path efficiency."""
    node_spread: float = 0.0
    """Max-min spread of per-GPU matmul throughput within one 8-GPU node (fraction)."""
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
            raise UserError(f"precision {precision!r} is not available on {self.name}; valid: {valid}")
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
        return Curve(xs=tuple(float(x) for x in section[x_key]), ys=tuple(float(y) for y in section[y_key]))
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
    if isinstance(value, bool) or not (low <= number if low_ok else low < number) or not number <= high:
        raise UserError(f"{where} = {value!r} is not valid; must be a number in "
                        f"{'[' if low_ok else '('}{low:g}, {high:g}]")
    return number


def parse_profile(doc: dict[str, Any], path: Path) -> HardwareProfile:
    peaks = parse_peaks(doc, path)
    sections = {k: doc.get(k) for k in ("gemm_efficiency", "attention_efficiency", "hbm_efficiency", "nvlink_busbw")}
    missing = [k for k, v in sections.items() if not isinstance(v, dict)]
    if missing:
        raise UserError(f"{path}: the planner needs a [{missing[0]}] table (see workloads/hardware/h100-sxm.toml)")
    gemm_doc = sections["gemm_efficiency"]
    gemm = {p: _curve(gemm_doc, "gflops", p, f"{path} [gemm_efficiency]")
            for p in ("bf16", "fp16", "fp8", "tf32") if p in gemm_doc}
    if "bf16" not in gemm:
        raise UserError(f"{path}: [gemm_efficiency] needs a bf16 curve")
    att = {p: _number(f"{path}: attention_efficiency.{p}", v, 0.0, 1.0)
           for p, v in sections["attention_efficiency"].items() if p != "source"}
    link = sections["nvlink_busbw"]
    prov = {key: {"kind": "published", "source": str(sections[sec].get("source", ""))}
            for key, sec in (("gemm_efficiency", "gemm_efficiency"), ("attention_efficiency", "attention_efficiency"),
                             ("hbm_efficiency", "hbm_efficiency"), ("nvlink_busbw", "nvlink_busbw"))}
    variability = doc.get("variability", {}) if isinstance(doc.get("variability"), dict) else {}
    prov["variability"] = {"kind": "published" if variability else "assumed",
                           "source": str(variability.get("source", "none: GPUs assumed identical"))}
    prov["peak_tflops"] = {"kind": "published", "source": peaks.sources.get("peak_tflops", "")}
    prov["memory"] = {"kind": "published", "source": peaks.sources.get("memory", "")}
    return HardwareProfile(
        peaks=peaks, gemm=gemm, attention=att,
        hbm=_curve(sections["hbm_efficiency"], "mbytes", "efficiency", f"{path} [hbm_efficiency]"),
        nvlink_all_reduce=_curve(link, "mbytes", "all_reduce", f"{path} [nvlink_busbw]"),
        nvlink_ring=_curve(link, "mbytes", "ring", f"{path} [nvlink_busbw]"),
        p2p_gbps=_number(f"{path}: nvlink_busbw.p2p_gbps",
                         link.get("p2p_gbps", 0.8 * (peaks.nvlink_gbps_per_direction or 50.0)), 0.0, math.inf),
        node_spread=_number(f"{path}: variability.node_spread", variability.get("node_spread", 0.0), 0.0, 0.99,
                            low_ok=True),
        provenance=prov,
    )


def load_reference(name_or_path: str) -> HardwareProfile:
    path = resolve_spec("hardware", name_or_path)
    return parse_profile(read_toml(path), path)


MEASURED_SUFFIX = "-measured"
MEASURED_DIR = DATA_DIR / "measured"
"""Runs measured on real GPUs that ship with exabench (``workloads/measured/*.json``)."""


def shipped_measured() -> list[tuple[str, dict[str, Any]]]:
    """``(profile name, Run)`` of every shipped measured Run on a GPU a profile matches,
    newest first (by the Run's ``created``)."""
    from exabench.bench.rundoc import load_run

    found = []
    for path in sorted(MEASURED_DIR.glob("*.json")):
        run = load_run(path)
        matched = match_device(run_device_name(run))
        if matched is not None:
            found.append((matched.name, run))
    return sorted(found, key=lambda item: str(item[1].get("created", "")), reverse=True)


def load_measured(profile: str) -> HardwareProfile:
    """``<profile>-measured``: the shipped Runs measured on that GPU, over its reference. A GPU
    session commits several Runs (the quick suite, a GEMM sweep, a memory sweep): the newest
    and every other Run of the same machine and software (``environment.fingerprint``) count
    together, as one Run whose id names them all."""
    shipped = shipped_measured()
    runs = [run for name, run in shipped if name == profile]
    if not runs:
        have = sorted({f"{name}{MEASURED_SUFFIX}" for name, _ in shipped})
        raise UserError(f"no measured Run ships for {profile} yet ({', '.join(have) or 'none ships'}); use "
                        f"--hardware {profile} (published curves) or --hardware RUN.json (your own Run)")
    newest = runs[0]
    same = [run for run in runs if _fingerprint(run) == _fingerprint(newest)]
    merged = {**newest, "id": " + ".join(str(run.get("id")) for run in same),
              "results": [result for run in same for result in run.get("results", [])]}
    return profile_from_run(merged, default=profile)


def _fingerprint(run: dict[str, Any]) -> Any:
    environment = run.get("environment")
    return environment.get("fingerprint") if isinstance(environment, dict) else None


def load_profile(name_or_path: str, *, default: str = "h100-sxm") -> HardwareProfile:
    """A shipped profile name, ``<name>-measured`` (the shipped Run measured on that GPU), a
    hardware TOML, or a Run JSON (measured, on top of its reference)."""
    if name_or_path.endswith(".json"):
        from exabench.bench.rundoc import load_run

        return profile_from_run(load_run(name_or_path), default=default)
    if name_or_path.endswith(MEASURED_SUFFIX) and not name_or_path.endswith(".toml"):
        return load_measured(name_or_path[: -len(MEASURED_SUFFIX)])
    return load_reference(name_or_path)


def _first_device(run: dict[str, Any]) -> dict[str, Any]:
    """The Run's first GPU as ``exabench env`` recorded it; empty without one."""
    devices = ((run.get("environment") or {}).get("gpu") or {}).get("devices") or []
    return devices[0] if devices and isinstance(devices[0], dict) else {}


def run_device_name(run: dict[str, Any]) -> str | None:
    return _first_device(run).get("name")


def profile_from_run(run: dict[str, Any], *, default: str = "h100-sxm") -> HardwareProfile:
    """Overlay a Run's measurements on the reference profile of the GPU it ran on."""
    run_id = str(run.get("id", "?"))
    device = run_device_name(run)
    matched = match_device(device)
    if matched is None:
        base = load_reference(default)
        note = (f"Run {run_id} was measured on {device or 'a device without a GPU'}, which matches no "
                f"shipped GPU profile: reference profile {default} used for every value")
        prov = {k: {**v, "note": note} for k, v in base.provenance.items()}
        return replace(base, provenance=prov, run_id=run_id)
    base = load_reference(matched.name)
    ok = [r for r in run.get("results", []) if r.get("status") == "ok" and isinstance(r.get("metrics"), dict)]
    prov = dict(base.provenance)
    src = f"measured in Run {run_id} on {device}"
    gemm = dict(base.gemm)
    by_dtype: dict[str, list[tuple[float, float]]] = {}
    for r in ok:
        p, m = r.get("params", {}), r["metrics"]
        factor = _shape_factor(str(p.get("label") or ""))
        if r.get("suite") == "gemm" and m.get("tflops") and base.peaks.peak(str(p.get("dtype"))) and factor:
            flops = 2.0 * float(p["m"]) * float(p["n"]) * float(p["k"])
            efficiency = factor * float(m["tflops"]) / base.peaks.peak(str(p["dtype"]))
            by_dtype.setdefault(str(p["dtype"]), []).append((flops / 1e9, efficiency))
    for dtype, points in by_dtype.items():
        if len({x for x, _ in points}) >= 2:
            gemm[dtype] = Curve.from_points(points)
        elif dtype in gemm:  # one size: keep the reference shape, through the measured point(s)
            x, y = points[0][0], statistics.fmean(y for _, y in points)
            gemm[dtype] = gemm[dtype].scaled(y / gemm[dtype](x))
    if by_dtype:
        prov["gemm_efficiency"] = {
            "kind": "measured",
            "source": f"{src}: {', '.join(sorted(by_dtype))}; square and MAMF shapes x {OFF_OPTIMUM_SHAPE} "
                      f"(a layer's GEMMs are not the tuned shape, as in the reference curve), layer GEMMs as measured"}
    hbm, plateau_points = base.hbm, _hbm_plateau_points(ok, _l2_bytes(run), base.peaks.hbm_bandwidth_gbps)
    if plateau_points:
        measured = statistics.median(plateau_points)
        x_top = base.hbm.xs[-1]
        hbm = base.hbm.scaled(measured / base.hbm(x_top))
        prov["hbm_efficiency"] = {
            "kind": "measured",
            "source": f"{src}: plateau {measured:.3f} of the HBM peak (median of {len(plateau_points)} copy/scale/add/"
                      f"triad results moving more than twice the L2); the size fall-off is the reference's"}
    ar, ring, ranks = _busbw_points(ok)
    hosts = _rank_hosts(run)
    scaleout = None
    if (ar or ring) and len(hosts) > 1:
        # Ranks on several nodes: their busbw is the scale-out fabric's, not NVLink's.
        prov["nvlink_busbw"] = {**prov["nvlink_busbw"], "note": f"Run {run_id}'s collectives span {len(hosts)} "
                                f"nodes (scale-out figures, not NVLink): the published NVLink curves are kept"}
        scaleout, prov["scaleout_busbw"] = scaleout_plateau(ar, src, len(hosts), ranks)
        ar, ring = [], []
    if ar or ring:
        prov["nvlink_busbw"] = {"kind": "measured", "source": f"{src} (ranks within one node)"}
    return replace(base, gemm=gemm, hbm=hbm, provenance=prov, run_id=run_id,
                   nvlink_all_reduce=Curve.from_points(ar) if ar else base.nvlink_all_reduce,
                   nvlink_ring=Curve.from_points(ring) if ring else base.nvlink_ring,
                   scaleout_gbps=scaleout, scaleout_span_gpus=ranks if scaleout else 0)


SCALEOUT_PLATEAU_MB = 64.0
"""All-reduce messages from this size up are bandwidth-bound across nodes (nccl-tests busbw
flattens from tens of MB on 400G InfiniBand; microbenchmarks.md §2): below it latency shows."""


def scaleout_plateau(all_reduce: list[tuple[float, float]], src: str, nodes: int,
                     ranks: int) -> tuple[float | None, dict[str, str]]:
    """The per-GPU scale-out bandwidth of a multi-node all-reduce sweep: the median busbw of its
    sizes >= :data:`SCALEOUT_PLATEAU_MB`, and its provenance. A sweep that stops short of the
    plateau (the quick suite's 1 MB) measures latency, not bandwidth: None, and the cluster's
    NIC model stays, saying why."""
    plateau = [gbps for mb, gbps in all_reduce if mb >= SCALEOUT_PLATEAU_MB]
    if not plateau:
        largest = max((mb for mb, _ in all_reduce), default=0.0)
        return None, {"kind": "published", "source": f"the planned cluster's NIC line rate x its nic_efficiency ({src} spans "
                      f"{nodes} nodes but its largest all_reduce is {largest:.3g} MB, below the "
                      f"{SCALEOUT_PLATEAU_MB:g} MB plateau: rerun with --max-bytes 1G to measure it)"}
    value = statistics.median(plateau)
    return value, {"kind": "measured", "value": f"{value:.1f} GB/s per GPU",
                   "source": f"{src}: all_reduce busbw plateau {value:.1f} GB/s per GPU over {nodes} nodes "
                   f"({ranks} ranks; median of {len(plateau)} sizes >= {SCALEOUT_PLATEAU_MB:g} MB), "
                   "in place of the planned cluster's NIC line rate x nic_efficiency (capped at its line rate: "
                   "the planned NICs are taken to be the Run's); groups climbing more switch levels than the "
                   "Run's add the fabric's path efficiency"}


OFF_OPTIMUM_SHAPE = 0.85
"""A layer's GEMMs reach ~80-90 % of what a tuned shape does (ml-engineering mamf-finder notes,
microbenchmarks.md 3.1): the factor the reference curves carry (hardware/h100-sxm.toml), applied
to measured square and MAMF shapes too, so a measured plan and a published one mean the same."""


def _shape_factor(label: str) -> float:
    """Weight of a measured GEMM in the training efficiency curve: 1 for a layer's own GEMMs
    (``--model``), :data:`OFF_OPTIMUM_SHAPE` for square, MxNxK and MAMF shapes, 0 for decode-like
    skinny shapes (memory-bound: another regime, which the inference model times from HBM)."""
    if label.startswith("layer_"):
        return 1.0
    if label.startswith("skinny_"):
        return 0.0
    return OFF_OPTIMUM_SHAPE


STREAMING_KERNELS = ("copy", "scale", "add", "triad")
"""Read-and-write streaming kernels: what the reference HBM curve describes (BabelStream triad).
Host and peer links, read-only ``dot`` and write-only ``fill`` are other figures."""
DEFAULT_L2_BYTES = 50 * 1024**2
"""H100/H200 L2 (microbenchmarks.md section 7.1), when a Run does not record the size."""


def _l2_bytes(run: dict[str, Any]) -> int:
    l2 = _first_device(run).get("l2_bytes")
    return int(l2) if isinstance(l2, (int, float)) and l2 > 0 else DEFAULT_L2_BYTES


def _hbm_plateau_points(results: list[dict[str, Any]], l2_bytes: int, peak_gbps: float) -> list[float]:
    """HBM efficiencies (measured GB/s over the datasheet ``peak_gbps``) of the streaming kernels
    whose bytes moved per call exceed twice the L2: smaller ones measure the cache, not HBM."""
    out = []
    for r in results:
        p, m = r.get("params") or {}, r["metrics"]
        moved, gbps = m.get("bytes_moved"), m.get("gbps")
        if r.get("suite") == "memory" and p.get("kernel") in STREAMING_KERNELS \
                and isinstance(moved, (int, float)) and moved >= 2 * l2_bytes and isinstance(gbps, (int, float)) and gbps > 0:
            out.append(float(gbps) / peak_gbps)
    return out


def _rank_hosts(run: dict[str, Any]) -> set[str]:
    """Hosts of the collectives ranks (``config.ranks``, or ``config.collectives_run.ranks`` in
    a ``bench all`` Run); empty when the Run does not say."""
    config = run.get("config") if isinstance(run.get("config"), dict) else {}
    nested = config.get("collectives_run") if isinstance(config.get("collectives_run"), dict) else {}
    ranks = config.get("ranks") or nested.get("ranks") or []
    return {str(r["host"]) for r in ranks if isinstance(r, dict) and r.get("host")}


def _busbw_points(results: list[dict[str, Any]]) -> tuple[list[tuple[float, float]], list[tuple[float, float]], int]:
    """(MB, GB/s) points of the largest rank count measured, all-reduce and ring-like apart, and
    that rank count."""
    coll = [r for r in results if r.get("suite") == "collectives" and r["metrics"].get("busbw_gbps")
            and r.get("params", {}).get("bytes")]
    if not coll:
        return [], [], 0
    top = max(int(r["params"].get("nranks", 1)) for r in coll)
    ar, ring = [], []
    for r in coll:
        p = r["params"]
        if int(p.get("nranks", 1)) != top or top < 2:
            continue
        point = (float(p["bytes"]) / 1e6, float(r["metrics"]["busbw_gbps"]))
        if p.get("collective") == "all_reduce":
            ar.append(point)
        elif p.get("collective") in RING_COLLECTIVES:
            ring.append(point)
    return ar, ring, top
