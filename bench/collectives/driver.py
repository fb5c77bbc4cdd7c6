"""One rank of a collectives run, start to finish: join the world, sweep, and (rank 0) write the
Run, print the nccl-tests-style table and say how it ended.

Rank 0 is the only writer. It makes each finished result durable before the next case starts
(:class:`~exabench.bench.writer.RunWriter`), so a fault part-way leaves a valid Run holding every
size measured before it, plus a ``failed`` record for the case in flight when rank 0 can still
write one.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from typing import Any, NoReturn

from exabench.bench import device as devices
from exabench.bench.collectives import launch, topology
from exabench.bench.collectives.launch import Session, World, start_watchdog
from exabench.bench.collectives.spec import build_spec, child_argv
from exabench.bench.collectives.sweep import SweepSpec, case_id, cases, finished_cases, sweep
from exabench.bench.env import capture
from exabench.bench.floors import apply_floors, missed_message, parse_floors
from exabench.bench.sweeps import CollectiveSweep, RunOptions
from exabench.bench.table import TablePrinter, footer
from exabench.bench.writer import RunWriter
from exabench.documents.run import make_result
from exabench.errors import UserError

WATCHDOG_GRACE_S = 15.0
"""The in-process watchdog fires this long after the process-group timeout would have."""


def _rank_info(session: Session, spec: SweepSpec) -> dict[str, Any]:
    info = {
        "rank": session.rank,
        "host": socket.gethostname(),
        "local_rank": session.world.local_rank,
        "device": "cpu",
    }
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
    key = (
        "busbw_gbps_avg"
        if all(r["metrics"].get("busbw_gbps_avg") is not None for r in ok)
        else "busbw_gbps"
    )
    avg = sum(r["metrics"][key] for r in ok) / len(ok)
    how = (
        "batch time per operation, averaged over ranks"
        if key == "busbw_gbps_avg"
        else "per-operation medians"
    )
    wrong = sum(r["metrics"].get("wrong") or 0 for r in results if r["suite"] == "collectives")
    return (
        f"# Out of bounds values : {wrong} {'OK' if wrong == 0 else 'FAILED'}\n# Avg bus bandwidth "
        f"   : {avg:.3f} GB/s (mean over {len(ok)} results of {key}: {how}; sizes"
        f" {sizes[0]}..{sizes[-1]} B, both passes; compare only across identical sweeps)"
    )


def join(world: World, spec: SweepSpec) -> Session:
    """Pick this rank's device and join the world (NCCL on GPUs, gloo on CPUs)."""
    if spec.device == "cuda":
        import torch

        torch.cuda.set_device(world.local_rank % max(1, torch.cuda.device_count()))
    return Session(world, "nccl" if spec.device == "cuda" else "gloo", spec.timeout_s)


def run_on_session(session: Session, spec: SweepSpec, *, out_dir: str,
                   append_to: str | None = None, run_path: str | None = None, quiet: bool = False,
                   config: dict[str, Any] | None = None,
                   standalone: bool = True) -> tuple[int, str | None, str | None]:
    """Sweep on an initialised world. Returns ``(exit code, message, Run path)`` (path and
    message on rank 0 only): 0 all ok, 1 a wrong result, a failed case or a rank fault."""
    import torch.distributed as dist

    infos = [None] * session.size if session.rank == 0 else None
    dist.gather_object(_rank_info(session, spec), infos, dst=0, group=session.control)
    writer = table = None
    if session.rank == 0:
        writer = _open_run(session, spec, infos, out_dir=out_dir, append_to=append_to,
                           run_path=run_path, config=config)
        table = TablePrinter(io.StringIO() if quiet else sys.stdout)
    _start_watchdog(session, spec, writer)

    def on_result(result: dict[str, Any]) -> None:
        writer.add(result)
        table.row(result)

    # Appending to a Run (bench all, --resume): the cases already in it are not measured again.
    appending = writer is not None and append_to
    done = [frozenset(finished_cases(writer.results)) if appending else frozenset()]
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
    return _ending(writer, message, quiet=quiet, standalone=standalone)


def _open_run(session: Session, spec: SweepSpec, infos: list[Any], *, out_dir: str,
              append_to: str | None, run_path: str | None,
              config: dict[str, Any] | None) -> RunWriter:
    """Rank 0's writer: a new Run, or (``bench all``) the Run the other suites wrote."""
    asked = {**{k: v for k, v in vars(spec).items() if k != "extra"}, **spec.extra}
    run_config = {"collectives": asked, "ranks": infos, "backend": session.backend,
                  **(config or {})}
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
    return writer


def _start_watchdog(session: Session, spec: SweepSpec, writer: RunWriter | None) -> None:
    """End this rank (exit 1) when it makes no progress for longer than the process-group
    timeout would allow, noting why in the Run when this rank writes it."""
    limit = spec.timeout_s + WATCHDOG_GRACE_S

    def fire() -> None:
        message = (f"error: rank {session.rank}: no progress for {limit:.0f} s (a rank hangs); "
                   "stopping")
        print(message, file=sys.stderr, flush=True)
        if writer is not None:
            writer.set("watchdog", {"fired": True, "message": message})

    start_watchdog(lambda: session.last_beat, limit, fire)


def _ending(writer: RunWriter, message: str | None, *, quiet: bool,
            standalone: bool) -> tuple[int, str | None, str]:
    """Rank 0's footer and exit code, once the Run is closed."""
    if not quiet:
        print(avg_busbw_line(writer.results), flush=True)
        if standalone:
            print(footer(writer.results, str(writer.path)), flush=True)
    path = str(writer.path)
    if message:
        return 1, f"{message}; {len(writer.results)} results kept in {path}", path
    failed = [r for r in writer.results if r["suite"] == "collectives" and r["status"] == "failed"]
    if failed:
        first = failed[0]
        return 1, (f"{len(failed)} collectives results failed ({first['name']}: {first['error']}); "
                   f"all kept in {path}"), path
    return 0, None, path


def run_collectives(options: RunOptions, sweep: CollectiveSweep, *,
                    append_to: str | None = None) -> tuple[int, str | None]:
    """``exabench bench collectives``. Started on its own, it launches ``sweep.nproc`` local
    ranks and returns ``(exit code, message)`` once they end (rank 0 writes the Run; the floors
    are checked in it). Started by torchrun or srun, this process is one rank: it never returns
    (:func:`run_rank`)."""
    kind = devices.resolve(options.device.split(":")[0] if options.device else None).kind
    floors = parse_floors(options.floors)
    spec = build_spec(sweep, kind, options.quick, options)
    world = launch.world_from_env()
    if world is not None:
        if floors:
            raise UserError("--floor is not checked for bench collectives under torchrun or srun; "
                            "use it with --nproc (a local launch), or run exabench bench all "
                            "--floor, which every rank checks")
        run_rank(world, spec, out_dir=options.out_dir, quiet=options.quiet, append_to=append_to)
    nproc = sweep.nproc or default_nproc(kind)
    if kind == "cuda" and nproc > default_nproc(kind):
        raise UserError(f"--nproc {nproc}: only {default_nproc(kind)} CUDA GPUs are visible (NCCL "
                        "needs one GPU per rank); use --nproc <= the GPU count, or --device cpu")
    argv = child_argv(spec, out_dir=options.out_dir, as_json=options.quiet, append_to=append_to)
    outcome = launch.launch_local(["bench", "collectives", *argv], nproc, timeout_s=spec.timeout_s,
                                  bind=sweep.master_addr)
    verdicts = []
    if outcome.run_path:
        verdicts = apply_floors(outcome.run_path, floors, quiet=options.quiet)
    if outcome.exit_code:
        return outcome.exit_code, outcome.message
    below = missed_message(verdicts, outcome.run_path)
    return (1, below) if below else (0, None)


def run_rank(world: World, spec: SweepSpec, *, out_dir: str, quiet: bool,
             append_to: str | None) -> NoReturn:
    """This process is one rank: sweep, print the Run as JSON when ``quiet`` (``--json``) and
    this rank wrote it, and end the process non-zero on a fault (without tearing down a broken
    world, which can hang: :meth:`Session.close`)."""
    session = join(world, spec)
    code, message, path = run_on_session(session, spec, out_dir=out_dir, append_to=append_to,
                                         quiet=quiet, standalone=not append_to)
    if quiet and path and not append_to:
        with open(path, encoding="utf-8") as file:
            print(json.dumps(json.load(file), indent=1), flush=True)
    if message:
        print(f"error: {message}", file=sys.stderr, flush=True)
    session.close(code)


def default_nproc(device_kind: str) -> int:
    """Every visible GPU (1 included: NCCL's world-size-1 figures), or 2 gloo processes on a CPU."""
    if device_kind != "cuda":
        return 2
    import torch

    return max(1, torch.cuda.device_count())


def pending_in_all(results: list[dict[str, Any]], device: Any, quick: bool) -> int:
    """How many collectives cases of ``bench all`` are not yet in ``results``."""
    spec, nproc = build_spec(CollectiveSweep(), device.kind, quick), default_nproc(device.kind)
    done = finished_cases(results)
    return sum(case_id(d, name, count, inplace, nproc) not in done
               for d, name, _b, count, inplace in cases(spec, nproc))


def run_in_all(writer: Any, device: Any, quick: bool, quiet: bool) -> Any:
    """The collectives part of ``bench all``: over :func:`default_nproc` local processes,
    appended by their rank 0 to the same Run (whose rank 0 skips the cases a resumed Run already
    holds). Returns the writer re-read with those results."""
    spec = build_spec(CollectiveSweep(), device.kind, quick)
    nproc = default_nproc(device.kind)
    if not quiet:
        what = "GPUs (NCCL)" if device.is_cuda else "CPU processes (gloo)"
        print(f"# collectives over {nproc} {what}", flush=True)
    argv = child_argv(
        spec, out_dir=str(writer.path.parent), as_json=quiet, append_to=str(writer.path)
    )
    outcome = launch.launch_local(["bench", "collectives", *argv], nproc, timeout_s=spec.timeout_s)
    writer = RunWriter.resume(writer.path)
    if outcome.exit_code and not any(
        r["suite"] == "collectives" and r["status"] == "failed" for r in writer.results
    ):
        writer.add(
            make_result(
                suite="collectives",
                name="launch",
                params={"nranks": nproc},
                status="failed",
                error=outcome.message
                or f"the collectives ranks exited with code {outcome.exit_code}",
            )
        )
    return writer
