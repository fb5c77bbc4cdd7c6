"""One rank of a collectives run, start to finish: join the world, sweep, and (rank 0) write the
Run, print the nccl-tests-style table and say how it ended.

Rank 0 is the only writer. It makes each finished result durable before the next case starts
(:class:`~exabench.bench.writer.RunWriter`), so a fault part-way leaves a valid Run holding every
size measured before it, plus a ``failed`` record for the case in flight when rank 0 can still
write one.
"""

from __future__ import annotations

import io
import socket
import sys
from typing import Any

from exabench.bench.collectives.launch import Session, World, start_watchdog
from exabench.bench.collectives.sweep import SweepSpec, cases, finished_cases, sweep

WATCHDOG_GRACE_S = 15.0
"""The in-process watchdog fires this long after the process-group timeout would have."""


def _rank_info(session: Session, spec: SweepSpec) -> dict[str, Any]:
    info = {"rank": session.rank, "host": socket.gethostname(), "local_rank": session.world.local_rank,
            "device": "cpu"}
    if spec.device == "cuda":
        import torch

        index = torch.cuda.current_device()
        info["device"] = f"cuda:{index}"
        info["gpu"] = torch.cuda.get_device_name(index)
    return info


def avg_busbw_line(results: list[dict[str, Any]]) -> str:
    """nccl-tests' footer, with the sweep it depends on (never compare it across sweeps). Like
    nccl-tests', it averages the busbw of nccl-tests' own measure (``busbw_gbps_avg``: batch
    time per operation, averaged over ranks) where every result has it; else the table's."""
    ok = [r for r in results if r["suite"] == "collectives" and r["status"] == "ok"]
    if not ok:
        return "# Avg bus bandwidth    : n/a (no result)"
    sizes = sorted(r["params"]["bytes"] for r in ok)
    key = "busbw_gbps_avg" if all(r["metrics"].get("busbw_gbps_avg") is not None for r in ok) else "busbw_gbps"
    avg = sum(r["metrics"][key] for r in ok) / len(ok)
    how = "batch time per operation, averaged over ranks" if key == "busbw_gbps_avg" else "per-operation medians"
    wrong = sum(r["metrics"].get("wrong") or 0 for r in results if r["suite"] == "collectives")
    return (f"# Out of bounds values : {wrong} {'OK' if wrong == 0 else 'FAILED'}\n"
            f"# Avg bus bandwidth    : {avg:.3f} GB/s (mean over {len(ok)} results of {key}: {how}; sizes "
            f"{sizes[0]}..{sizes[-1]} B, both passes; compare only across identical sweeps)")


def join(world: World, spec: SweepSpec) -> Session:
    """Pick this rank's device and join the world (NCCL on GPUs, gloo on CPUs)."""
    if spec.device == "cuda":
        import torch

        torch.cuda.set_device(world.local_rank % max(1, torch.cuda.device_count()))
    return Session(world, "nccl" if spec.device == "cuda" else "gloo", spec.timeout_s)


def run_on_session(session: Session, spec: SweepSpec, *, out_dir: str, append_to: str | None = None,
                   run_path: str | None = None, quiet: bool = False, config: dict[str, Any] | None = None,
                   standalone: bool = True) -> tuple[int, str | None, str | None]:
    """Sweep on an initialised world. Returns ``(exit code, message, Run path)`` (path and
    message on rank 0 only): 0 all ok, 1 a wrong result, a failed case or a rank fault."""
    import torch.distributed as dist

    from exabench.bench.collectives import topology
    from exabench.bench.env import capture
    from exabench.bench.table import TablePrinter, footer
    from exabench.bench.writer import RunWriter

    infos = [None] * session.size if session.rank == 0 else None
    dist.gather_object(_rank_info(session, spec), infos, dst=0, group=session.control)
    writer = table = None
    if session.rank == 0:
        run_config = {"collectives": {**{k: v for k, v in vars(spec).items() if k != "extra"}, **spec.extra},
                      "ranks": infos, "backend": session.backend, **(config or {})}
        if append_to:
            writer = RunWriter.resume(append_to)
            writer.doc["config"].setdefault("collectives_run", run_config)
            writer.doc["environment"]["topology"] = topology.capture()
            writer.flush()
        else:
            env = capture()
            env["topology"] = topology.capture()
            writer = RunWriter(out_dir, env, {"suites": ["collectives"], **run_config}, path=run_path)
        session.store.set("exabench/run_path", str(writer.path))
        table = TablePrinter(io.StringIO() if quiet else sys.stdout)
    limit = spec.timeout_s + WATCHDOG_GRACE_S

    def fire() -> None:
        message = f"error: rank {session.rank}: no progress for {limit:.0f} s (a rank hangs); stopping"
        print(message, file=sys.stderr, flush=True)
        if writer is not None:
            writer.set("watchdog", {"fired": True, "message": message})

    start_watchdog(lambda: session.last_beat, limit, fire)

    def on_result(result: dict[str, Any]) -> None:
        writer.add(result)
        table.row(result)

    # Appending to a Run (bench all, --resume): the cases already in it are not measured again.
    done = [frozenset(finished_cases(writer.results)) if writer is not None and append_to else frozenset()]
    dist.broadcast_object_list(done, src=0, group=session.control)
    message = None
    try:
        sweep(session, spec, on_result, done=done[0])
    except Exception as error:  # noqa: BLE001 - a rank fault: every rank ends, non-zero
        message = f"rank {session.rank}: {error}"
    if session.rank != 0:
        return (1 if message else 0), message, None
    writer.close()
    table.finish()
    if not quiet:
        print(avg_busbw_line(writer.results), flush=True)
        if standalone:
            print(footer(writer.results, str(writer.path)), flush=True)
    if message:
        return 1, f"{message}; {len(writer.results)} results kept in {writer.path}", str(writer.path)
    failed = [r for r in writer.results if r["suite"] == "collectives" and r["status"] == "failed"]
    if failed:
        return 1, f"{len(failed)} collectives results failed ({failed[0]['name']}: {failed[0]['error']}); " \
                  f"all kept in {writer.path}", str(writer.path)
    return 0, None, str(writer.path)


def default_nproc(device_kind: str) -> int:
    """Every visible GPU (1 included: NCCL's world-size-1 figures), or 2 gloo processes on a CPU."""
    if device_kind != "cuda":
        return 2
    import torch

    return max(1, torch.cuda.device_count())


def pending_in_all(results: list[dict[str, Any]], device: Any, quick: bool) -> int:
    """How many collectives cases of ``bench all`` are not yet in ``results``."""
    from exabench.bench.collectives.spec import build_spec
    from exabench.bench.collectives.sweep import case_id

    spec, nproc = build_spec({}, device.kind, quick), default_nproc(device.kind)
    done = finished_cases(results)
    return sum(case_id(d, name, count, inplace, nproc) not in done for d, name, _b, count, inplace in cases(spec, nproc))


def run_in_all(writer: Any, device: Any, quick: bool, quiet: bool) -> Any:
    """The collectives part of ``bench all``: over :func:`default_nproc` local processes,
    appended by their rank 0 to the same Run (whose rank 0 skips the cases a resumed Run already
    holds). Returns the writer re-read with those results."""
    from exabench.bench.collectives import launch
    from exabench.bench.collectives.spec import build_spec, child_argv
    from exabench.bench.writer import RunWriter
    from exabench.documents.run import make_result

    spec = build_spec({}, device.kind, quick)
    nproc = default_nproc(device.kind)
    if not quiet:
        what = "GPUs (NCCL)" if device.is_cuda else "CPU processes (gloo)"
        print(f"# collectives over {nproc} {what}", flush=True)
    argv = child_argv(spec, out_dir=str(writer.path.parent), as_json=quiet, append_to=str(writer.path))
    outcome = launch.launch_local(["bench", "collectives", *argv], nproc, timeout_s=spec.timeout_s)
    writer = RunWriter.resume(writer.path)
    if outcome.exit_code and not any(r["suite"] == "collectives" and r["status"] == "failed" for r in writer.results):
        writer.add(make_result(suite="collectives", name="launch", params={"nranks": nproc}, status="failed",
                               error=outcome.message or f"the collectives ranks exited with code {outcome.exit_code}"))
    return writer
