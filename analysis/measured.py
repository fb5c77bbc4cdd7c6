"""A hardware profile measured: a Run's GEMM, memory and collective results laid over the
reference profile of the GPU it ran on.

What each suite gives the planner:

- **GEMM**: efficiency (fraction of the dense peak) by GFLOP per call, per precision, over the
  shapes the Run timed (:func:`profile_from_run`);
- **memory**: the HBM efficiency plateau of the streaming kernels that move more than twice
  the L2 (:func:`hbm_plateau_points`); the size fall-off stays the reference's;
- **collectives**: bus bandwidth by message size inside the NVLink domain, or, when the ranks
  span several nodes, the scale-out plateau per GPU (:func:`scaleout_plateau`).

What the Run didn't measure comes from the reference profile, and the profile's provenance
says which value came from where. A Run measured on a device no shipped profile matches (a
CPU, say) never passes for a GPU: the reference profile is used and the provenance says why.
The profiles themselves and the shipped measured Runs are data: :mod:`exabench.workloads.profile`.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

from exabench.analysis.planner.kernels import OFF_OPTIMUM_SHAPE
from exabench.documents.run import Result, Run, load_run
from exabench.errors import UserError
from exabench.workloads.collectives import RING_COLLECTIVES
from exabench.workloads.curve import Curve
from exabench.workloads.hardware import match_device
from exabench.workloads.profile import (
    MEASURED_SUFFIX,
    HardwareProfile,
    first_device,
    load_reference,
    run_device_name,
    shipped_measured,
)


def load_profile(name_or_path: str, *, default: str = "h100-sxm") -> HardwareProfile:
    """A shipped profile name, ``<name>-measured`` (the shipped Run measured on that GPU), a
    hardware TOML, or a Run JSON (measured, on top of its reference)."""
    if name_or_path.endswith(".json"):
        return profile_from_run(load_run(name_or_path), default=default)
    if name_or_path.endswith(MEASURED_SUFFIX) and not name_or_path.endswith(".toml"):
        return load_measured(name_or_path[: -len(MEASURED_SUFFIX)])
    return load_reference(name_or_path)


def load_measured(profile: str) -> HardwareProfile:
    """``<profile>-measured``: the shipped Runs measured on that GPU, over its reference. A GPU
    session commits several Runs (the quick suite, a GEMM sweep, a memory sweep): the newest
    and every other Run of the same machine and software (``environment.fingerprint``) count
    together, as one Run whose id names them all."""
    shipped = shipped_measured()
    runs = [run for name, run in shipped if name == profile]
    if not runs:
        have = sorted({f"{name}{MEASURED_SUFFIX}" for name, _ in shipped})
        raise UserError(f"no measured Run ships for {profile} yet "
                        f"({', '.join(have) or 'none ships'}); use --hardware {profile} "
                        "(published curves) or --hardware RUN.json (your own Run)")
    newest = runs[0]
    same = [run for run in runs if _fingerprint(run) == _fingerprint(newest)]
    merged: Run = {**newest, "id": " + ".join(str(run.get("id")) for run in same),
                   "results": [result for run in same for result in run.get("results", [])]}
    return profile_from_run(merged, default=profile)


def _fingerprint(run: Run) -> Any:
    environment = run.get("environment")
    return environment.get("fingerprint") if isinstance(environment, dict) else None


def profile_from_run(run: Run, *, default: str = "h100-sxm") -> HardwareProfile:
    """Overlay a Run's measurements on the reference profile of the GPU it ran on."""
    run_id = str(run.get("id", "?"))
    device = run_device_name(run)
    matched = match_device(device)
    if matched is None:
        base = load_reference(default)
        note = (f"Run {run_id} was measured on {device or 'a device without a GPU'}, which matches "
                f"no shipped GPU profile: reference profile {default} used for every value")
        prov = {k: {**v, "note": note} for k, v in base.provenance.items()}
        return replace(base, provenance=prov, run_id=run_id)
    base = load_reference(matched.name)
    ok = [r for r in run.get("results", [])
          if r.get("status") == "ok" and isinstance(r.get("metrics"), dict)]
    prov = dict(base.provenance)
    src = f"measured in Run {run_id} on {device}"
    gemm = _measured_gemm(base, ok, src, prov)
    hbm = _measured_hbm(base, ok, _l2_bytes(run), src, prov)
    ar, ring, ranks = _busbw_points(ok)
    hosts = _rank_hosts(run)
    scaleout = None
    if (ar or ring) and len(hosts) > 1:
        # Ranks on several nodes: their busbw is the scale-out fabric's, not NVLink's.
        prov["nvlink_busbw"] = {**prov["nvlink_busbw"], "note": (
            f"Run {run_id}'s collectives span {len(hosts)} nodes (scale-out figures, not NVLink): "
            "the published NVLink curves are kept")}
        scaleout, prov["scaleout_busbw"] = scaleout_plateau(ar, src, len(hosts), ranks)
        ar, ring = [], []
    if ar or ring:
        prov["nvlink_busbw"] = {"kind": "measured", "source": f"{src} (ranks within one node)"}
    return replace(base, gemm=gemm, hbm=hbm, provenance=prov, run_id=run_id,
                   nvlink_all_reduce=Curve.from_points(ar) if ar else base.nvlink_all_reduce,
                   nvlink_ring=Curve.from_points(ring) if ring else base.nvlink_ring,
                   scaleout_gbps=scaleout, scaleout_span_gpus=ranks if scaleout else 0)


def _measured_gemm(base: HardwareProfile, ok: list[Result], src: str,
                   prov: dict[str, dict[str, str]]) -> dict[str, Curve]:
    """The GEMM efficiency curves, per precision, with the Run's GEMMs in place of the
    reference's (efficiency = shape factor x measured TFLOP/s / dense peak); ``prov`` updated."""
    gemm = dict(base.gemm)
    by_dtype: dict[str, list[tuple[float, float]]] = {}
    for r in ok:
        p, m = r.get("params", {}), r["metrics"]
        factor = _shape_factor(str(p.get("label") or ""))
        peak = base.peaks.peak(str(p.get("dtype")))
        if (r.get("suite") == "gemm" and m.get("tflops") and peak and factor
                and all(k in p for k in "mnk")):
            flops = 2.0 * float(p["m"]) * float(p["n"]) * float(p["k"])
            efficiency = factor * float(m["tflops"]) / peak
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
            "source": f"{src}: {', '.join(sorted(by_dtype))}; square and MAMF shapes x "
                      f"{OFF_OPTIMUM_SHAPE} (a layer's GEMMs are not the tuned shape, as in the "
                      "reference curve), layer GEMMs as measured"}
    return gemm


def _measured_hbm(base: HardwareProfile, ok: list[Result], l2_bytes: int, src: str,
                  prov: dict[str, dict[str, str]]) -> Curve:
    """The reference HBM curve scaled through the Run's plateau (its size fall-off kept);
    ``prov`` updated. The reference curve when the Run measured no plateau."""
    points = hbm_plateau_points(ok, l2_bytes, base.peaks.hbm_bandwidth_gbps)
    if not points:
        return base.hbm
    measured = statistics.median(points)
    prov["hbm_efficiency"] = {
        "kind": "measured",
        "source": f"{src}: plateau {measured:.3f} of the HBM peak (median of {len(points)} "
                  "copy/scale/add/triad results moving more than twice the L2); the size "
                  "fall-off is the reference's"}
    return base.hbm.scaled(measured / base.hbm(base.hbm.xs[-1]))


SCALEOUT_PLATEAU_MB = 64.0
"""All-reduce messages from this size up are bandwidth-bound across nodes (nccl-tests busbw
flattens from tens of MB on 400G InfiniBand, NVIDIA/nccl-tests#290): below it latency shows."""


def scaleout_plateau(all_reduce: list[tuple[float, float]], src: str, nodes: int,
                     ranks: int) -> tuple[float | None, dict[str, str]]:
    """The per-GPU scale-out bandwidth of a multi-node all-reduce sweep: the median busbw of its
    sizes >= :data:`SCALEOUT_PLATEAU_MB`, and its provenance. A sweep that stops short of the
    plateau (the quick suite's 1 MB) measures latency, not bandwidth: None, and the cluster's
    NIC model stays, saying why."""
    plateau = [gbps for mb, gbps in all_reduce if mb >= SCALEOUT_PLATEAU_MB]
    if not plateau:
        largest = max((mb for mb, _ in all_reduce), default=0.0)
        return None, {"kind": "published", "source": (
            f"the planned cluster's NIC line rate x its nic_efficiency ({src} spans {nodes} nodes "
            f"but its largest all_reduce is {largest:.3g} MB, below the {SCALEOUT_PLATEAU_MB:g} MB "
            "plateau: rerun with --max-bytes 1G to measure it)")}
    value = statistics.median(plateau)
    return value, {"kind": "measured", "value": f"{value:.1f} GB/s per GPU", "source": (
        f"{src}: all_reduce busbw plateau {value:.1f} GB/s per GPU over {nodes} nodes "
        f"({ranks} ranks; median of {len(plateau)} sizes >= {SCALEOUT_PLATEAU_MB:g} MB), "
        "in place of the planned cluster's NIC line rate x nic_efficiency (capped at its line "
        "rate: the planned NICs are taken to be the Run's); groups climbing more switch levels "
        "than the Run's add the fabric's path efficiency")}



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
"""H100/H200 L2 (NVIDIA H100 datasheet: 50 MB), when a Run does not record the size."""


def _l2_bytes(run: Run) -> int:
    l2 = first_device(run).get("l2_bytes")
    return int(l2) if isinstance(l2, (int, float)) and l2 > 0 else DEFAULT_L2_BYTES


def hbm_plateau_points(results: list[Result], l2_bytes: int, peak_gbps: float) -> list[float]:
    """HBM efficiencies (measured GB/s over the datasheet ``peak_gbps``) of the streaming kernels
    whose bytes moved per call exceed twice the L2: smaller ones measure the cache, not HBM."""
    out = []
    for r in results:
        p, m = r.get("params") or {}, r["metrics"]
        moved, gbps = m.get("bytes_moved"), m.get("gbps")
        if (r.get("suite") == "memory" and p.get("kernel") in STREAMING_KERNELS
                and isinstance(moved, (int, float)) and moved >= 2 * l2_bytes
                and isinstance(gbps, (int, float)) and gbps > 0):
            out.append(float(gbps) / peak_gbps)
    return out


def _rank_hosts(run: Run) -> set[str]:
    """Hosts of the collectives ranks (``config.ranks``, or ``config.collectives_run.ranks`` in
    a ``bench all`` Run); empty when the Run does not say."""
    config = run.get("config") if isinstance(run.get("config"), dict) else {}
    nested = config.get("collectives_run")
    nested = nested if isinstance(nested, dict) else {}
    ranks = config.get("ranks") or nested.get("ranks") or []
    return {str(r["host"]) for r in ranks if isinstance(r, dict) and r.get("host")}


Points = list[tuple[float, float]]
"""(MB, GB/s) points of a bus-bandwidth curve."""


def _busbw_points(results: list[Result]) -> tuple[Points, Points, int]:
    """(MB, GB/s) points of the largest rank count measured, all-reduce and ring-like apart, and
    that rank count."""
    coll = [r for r in results if r.get("suite") == "collectives"
            and r["metrics"].get("busbw_gbps") and r.get("params", {}).get("bytes")]
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
