"""Fleet screening: ``exabench bench all`` as one rank per GPU of a torchrun/srun allocation.

Every rank, at the same time (as ml-engineering advises, so shared power and cooling are
loaded as in training):

1. runs the single-device suites on its own GPU (LOCAL_RANK) and writes its own Run,
   ``<out>/fleet_<UTC>/rank<NNNNN>/<run>.json`` (the folder name is rank 0's clock);
2. joins the collectives over the whole world (all_reduce and a sendrecv ring), which rank 0
   writes to ``fleet_<UTC>/collectives.json`` with every rank's samples;
3. sends rank 0 its figures (not its samples: a 100k-GPU gather must stay small).

Rank 0 then writes ``fleet_<UTC>/fleet.json`` (:func:`exabench.analysis.fleet.summarize_fleet`:
per-figure median, MAD, spread, and the GPUs and nodes flagged slow) and prints the summary.
Exit 1 when a rank failed; outliers are a finding, reported in the summary, not an error.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from exabench.documents import FLEET_SCHEMA

FLEET_COLLECTIVES = ("all_reduce", "sendrecv")
EXITED = "local suites ended with exit code"


def _stamp() -> str:
    from exabench.bench.writer import utc_now

    return utc_now().strftime("%Y%m%dT%H%M%SZ")


def _local_suites(run_suites: Any, names: list[str], *, quick: bool, device: str, out_dir: Path,
                  options: dict[str, Any], quiet: bool) -> tuple[str | None, str | None]:
    """Run this GPU's suites; returns (Run path, error). Never raises: the other ranks are
    waiting for this one at the collectives."""
    from exabench.errors import UserError

    error = None
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        try:
            run_suites(names, quick=quick, device=device, out_dir=str(out_dir), as_json=False, options=dict(options))
        except SystemExit as exit_:
            error = f"{EXITED} {exit_.code}" if exit_.code else None
        except UserError as problem:
            error = problem.message
        except Exception as problem:  # noqa: BLE001
            error = f"{type(problem).__name__}: {problem}"
    runs = sorted(out_dir.glob("*.json"))
    return (str(runs[-1]) if runs else None), error


def _below_floor(run: dict[str, Any]) -> str | None:
    """Why a rank's suites ended 1 when it was a missed ``--floor``: the GPU measured fine and is
    too slow, which the fleet summary lists as that rank's failure in those words."""
    from exabench.bench.floors import describe, missed

    below = missed(run.get("floors") or [])
    return f"below acceptance floor: {'; '.join(describe(v) for v in below)}" if below else None


def _record(session: Any, spec: Any, run_path: str | None, error: str | None) -> dict[str, Any]:
    from exabench.analysis.fleet import figures_from_run
    from exabench.documents.run import load_run

    record: dict[str, Any] = {"rank": session.rank, "host": socket.gethostname(),
                              "local_rank": session.world.local_rank, "device": spec.device,
                              "run": run_path, "figures": {}, "error": error}
    if spec.device == "cuda":
        import torch

        from exabench.bench.env import nvml_uuid

        index = torch.cuda.current_device()
        record["device"] = f"cuda:{index} {torch.cuda.get_device_name(index)}"
        # The UUID names the board to pull: nvidia-smi -q -i <uuid>, whatever the renumbering.
        try:
            record["uuid"] = nvml_uuid(torch.cuda.get_device_properties(index))
        except Exception:  # noqa: BLE001 - an identity fact missing is None, never a lost rank
            record["uuid"] = None
    if run_path:
        try:
            run = load_run(run_path)
            record["figures"] = figures_from_run(run)
            if error == f"{EXITED} 1":  # a missed floor ends the suites 1 too: say which
                record["error"] = _below_floor(run) or error
        except Exception as problem:  # noqa: BLE001
            record["error"] = record["error"] or f"cannot read {run_path}: {problem}"
    return record


def run_fleet(world: Any, run_suites: Any, *, quick: bool, device: str | None, out_dir: str,
              as_json: bool, options: dict[str, Any]) -> None:
    import torch.distributed as dist

    from exabench.analysis.fleet import link_figures, summarize_fleet
    from exabench.bench.collectives.driver import join, run_on_session
    from exabench.bench.collectives.spec import build_spec
    from exabench.bench.device import resolve
    from exabench.bench.suites import SUITES
    from exabench.documents import atomic_write_text
    from exabench.documents.run import load_run

    kind = resolve(device.split(":")[0] if device else None).kind
    spec = replace(build_spec({}, kind, quick), collectives=FLEET_COLLECTIVES)
    session = join(world, spec)
    stamp = [_stamp()]
    dist.broadcast_object_list(stamp, src=0, group=session.control)
    fleet_dir = Path(out_dir) / f"fleet_{stamp[0]}"
    local_dev = f"cuda:{__import__('torch').cuda.current_device()}" if kind == "cuda" else "cpu"
    names = [name for name, suite in SUITES.items() if suite.run is None]
    if session.rank == 0 and not as_json:
        print(f"# fleet screening: {session.size} ranks, suites {', '.join(names)} on each, then "
              f"{', '.join(FLEET_COLLECTIVES)} over all; Runs in {fleet_dir}", flush=True)
    run_path, error = _local_suites(run_suites, names, quick=quick, device=local_dev,
                                    out_dir=fleet_dir / f"rank{session.rank:05d}", options=options,
                                    quiet=session.rank != 0 or as_json)
    session.beat()
    dist.barrier(group=session.control)  # every GPU's suites are done: the links are quiet
    code, message, coll_path = run_on_session(
        session, spec, out_dir=str(fleet_dir), run_path=str(fleet_dir / "collectives.json"),
        quiet=as_json, standalone=False, config={"fleet": str(fleet_dir)})
    records = [None] * session.size if session.rank == 0 else None
    dist.gather_object(_record(session, spec, run_path, error), records, dst=0, group=session.control)
    if session.rank == 0:
        links = link_figures(load_run(coll_path)) if coll_path else {}
        for record in records:
            record["figures"].update(links.get(record["rank"], {}))
        summary = {"schema": FLEET_SCHEMA, "fleet": str(fleet_dir), "collectives_run": coll_path,
                   "runs": {r["rank"]: r["run"] for r in records},
                   "ranks": [{k: v for k, v in r.items() if k != "figures"} for r in records],
                   **summarize_fleet(records)}
        path = fleet_dir / "fleet.json"
        atomic_write_text(path, json.dumps(summary, indent=1, default=str) + "\n")
        if as_json:
            print(json.dumps(summary, indent=1, default=str))
        else:
            print(render_summary(summary, str(path)), flush=True)
        if summary["errors"] and not code:
            code, message = 1, f"{len(summary['errors'])} ranks failed (first: rank {summary['errors'][0]['rank']}: {summary['errors'][0]['error']})"
    if message:
        print(f"error: {message}", file=sys.stderr, flush=True)
    session.close(code)


def render_summary(summary: dict[str, Any], path: str) -> str:
    """The fleet summary as text: the spread of each figure, then the flagged GPUs and nodes."""
    lines = [f"# fleet: {summary['gpus']} GPUs (ranks) on {summary['nodes']} nodes; outlier rule |z| > "
             f"{summary['threshold_z']} and >= {100 * summary['min_rel_dev']:.0f} % below the median, "
             f"with >= {summary['min_gpus']} GPUs",
             f"#{'figure':>79} {'n':>5} {'median':>10} {'min':>10} {'max':>10} {'spread%':>8} {'outliers':>8}"]
    for fig in summary["figures"]:
        name = fig["figure"] if len(fig["figure"]) <= 79 else "..." + fig["figure"][-76:]
        spread = "-" if fig["spread_pct"] is None else f"{fig['spread_pct']:.1f}"
        lines.append(f" {name:>79} {fig['n']:>5} {fig['median']:>10.4g} {fig['min']:>10.4g} "
                     f"{fig['max']:>10.4g} {spread:>8} {len(fig['outliers']):>8}")
    if not summary["flagged_gpus"]:
        lines.append("# flagged GPUs: none")
    for gpu in summary["flagged_gpus"]:
        worst = min(gpu["figures"], key=lambda f: f["z"])
        board = f", {gpu['uuid']}" if gpu.get("uuid") else ""
        lines.append(f"# SLOW rank {gpu['rank']} ({gpu['host']}, local {gpu['local_rank']}{board}): "
                     f"{len(gpu['figures'])} figures; worst {worst['figure']} z={worst['z']:.1f} "
                     f"({100 * worst['rel_dev']:+.1f} %)")
    for node in summary["flagged_nodes"]:
        lines.append(f"# node {node['host']}: ranks {node['flagged_ranks']} of {node['gpus']} flagged")
    for err in summary["errors"]:
        lines.append(f"# FAILED rank {err['rank']} ({err['host']}): {err['error']}")
    lines.append(f"# verdict: {summary['verdict']}; fleet summary written to {path}")
    return "\n".join(lines)
