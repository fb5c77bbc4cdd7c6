"""Fleet screening: ``exabench bench all`` as one rank per GPU of a torchrun/srun allocation.

Every rank, at the same time (as ml-engineering advises, so shared power and cooling are
loaded as in training):

1. runs the single-device suites on its own GPU (LOCAL_RANK) and writes its own Run,
   ``<out>/fleet_<UTC>/rank<NNNNN>/<run>.json`` (the folder name is rank 0's clock):
   :func:`run_local`;
2. joins the collectives over the whole world (all_reduce and a sendrecv ring), which rank 0
   writes to ``fleet_<UTC>/collectives.json`` with every rank's samples: :func:`run_links`;
3. sends rank 0 a record of itself: who it is, where its Run is, how it ended, and its figures
   (not its samples: a 100k-GPU gather must stay small): :func:`gather_records`.

This module only runs the ranks and gathers them. Which figures a Run holds and which GPUs are
outliers is analysis (:mod:`exabench.analysis.fleet`), and the summary is a report; the CLI
(:mod:`exabench.commands._fleet`) wires the steps together and writes ``fleet_<UTC>/fleet.json``.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

from exabench.bench import device as devices
from exabench.bench import suites
from exabench.bench.collectives.driver import join, run_on_session
from exabench.bench.collectives.launch import Session, World
from exabench.bench.collectives.spec import build_spec
from exabench.bench.collectives.sweep import SweepSpec
from exabench.bench.env import nvml_uuid
from exabench.bench.floors import describe, missed
from exabench.bench.runner import BenchOutcome, run_benchmarks
from exabench.bench.sweeps import CollectiveSweep, RunOptions
from exabench.bench.writer import utc_now
from exabench.documents.run import load_run
from exabench.errors import UserError

FLEET_COLLECTIVES = ("all_reduce", "sendrecv")
EXITED = "local suites ended with exit code"


@dataclass(kw_only=True, frozen=True)
class FleetRank:
    """This process's place in a fleet screening."""

    session: Session
    spec: SweepSpec
    """The collectives every rank joins (:data:`FLEET_COLLECTIVES`, the defaults otherwise)."""
    fleet_dir: Path
    """``<out>/fleet_<UTC>``, on rank 0's clock."""

    @property
    def rank(self) -> int:
        return self.session.rank

    def close(self, code: int, message: str | None) -> NoReturn:
        """End this rank: ``message`` on stderr, then :meth:`Session.close`."""
        if message:
            print(f"error: {message}", file=sys.stderr, flush=True)
        self.session.close(code)


@dataclass(kw_only=True, frozen=True)
class LocalRun:
    """How this rank's own suites ended."""

    path: str | None
    results: list[dict[str, Any]]
    """A summary of each result (no samples), read back from the Run if the runner raised."""
    error: str | None
    outcome: BenchOutcome | None
    """None when the runner raised (``error`` says what)."""


def join_fleet(world: World, options: RunOptions) -> FleetRank:
    """Join the world and agree on the fleet folder."""
    import torch.distributed as dist

    if options.resume:
        raise UserError("--resume is for one process; under torchrun or srun start a new fleet "
                        "run without it")
    kind = devices.resolve(options.device.split(":")[0] if options.device else None).kind
    spec = replace(build_spec(CollectiveSweep(), kind, options.quick),
                   collectives=FLEET_COLLECTIVES)
    session = join(world, spec)
    stamp = [utc_now().strftime("%Y%m%dT%H%M%SZ")]
    dist.broadcast_object_list(stamp, src=0, group=session.control)
    return FleetRank(session=session, spec=spec,
                     fleet_dir=Path(options.out_dir) / f"fleet_{stamp[0]}")


def local_suites() -> list[str]:
    """The suites each GPU runs on its own (the others start their own processes)."""
    return [name for name, suite in suites.SUITES.items() if suite.run is None]


def run_local(fleet: FleetRank, options: RunOptions) -> LocalRun:
    """Run this GPU's suites into its own Run; quiet but on rank 0. Never raises: the other
    ranks are waiting for this one at the collectives."""
    quiet = fleet.rank != 0 or options.quiet
    if not quiet:
        print(f"# fleet screening: {fleet.session.size} ranks, suites "
              f"{', '.join(local_suites())} on each, then {', '.join(FLEET_COLLECTIVES)} over "
              f"all; Runs in {fleet.fleet_dir}", flush=True)
    out_dir = fleet.fleet_dir / f"rank{fleet.rank:05d}"
    device = "cpu"
    if fleet.spec.device == "cuda":
        import torch

        device = f"cuda:{torch.cuda.current_device()}"
    local = replace(options, device=device, out_dir=str(out_dir), quiet=quiet)
    outcome, error = None, None
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        try:
            outcome = run_benchmarks(local, local_only=True)
            error = _error_of(outcome)
        except UserError as problem:
            error = problem.message
        except Exception as problem:  # noqa: BLE001
            error = f"{type(problem).__name__}: {problem}"
    runs = sorted(out_dir.glob("*.json"))
    path = str(runs[-1]) if runs else None
    if outcome is not None or path is None:
        results = outcome.results if outcome else []
        return LocalRun(path=path, results=results, error=error, outcome=outcome)
    try:
        results = load_run(path)["results"]
    except Exception as problem:  # noqa: BLE001
        results, error = [], error or f"cannot read {path}: {problem}"
    return LocalRun(path=path, results=results, error=error, outcome=None)


def _below_floor(floors: list[dict[str, Any]]) -> str | None:
    """The floors a Run missed, in the fleet summary's words (None when it missed none)."""
    below = missed(floors)
    return f"below acceptance floor: {'; '.join(describe(v) for v in below)}" if below else None


def _error_of(outcome: BenchOutcome) -> str | None:
    """A rank's failure in the fleet summary's words: a missed ``--floor`` is named (the GPU
    measured fine and is too slow), a user error quoted, other failures counted by exit code."""
    if outcome.exit_code != 1:
        return outcome.message
    return _below_floor(outcome.floors) or f"{EXITED} 1"


def run_links(fleet: FleetRank, options: RunOptions) -> tuple[int, str | None, str | None]:
    """Every GPU's suites are done, so the links are quiet: time the collectives over the whole
    world. Returns ``(exit code, message, collectives Run path)`` (message and path on rank 0)."""
    import torch.distributed as dist

    fleet.session.beat()
    dist.barrier(group=fleet.session.control)
    return run_on_session(fleet.session, fleet.spec, out_dir=str(fleet.fleet_dir),
                          run_path=str(fleet.fleet_dir / "collectives.json"), quiet=options.quiet,
                          standalone=False, config={"fleet": str(fleet.fleet_dir)})


def rank_record(fleet: FleetRank, local: LocalRun, figures: dict[str, float]) -> dict[str, Any]:
    """What rank 0 gathers of this rank: identity, its Run, how it ended, ``figures``."""
    record: dict[str, Any] = {"rank": fleet.rank, "host": socket.gethostname(),
                              "local_rank": fleet.session.world.local_rank,
                              "device": fleet.spec.device, "run": local.path, "figures": figures,
                              "error": local.error}
    if fleet.spec.device == "cuda":
        import torch

        index = torch.cuda.current_device()
        record["device"] = f"cuda:{index} {torch.cuda.get_device_name(index)}"
        # The UUID names the board to pull: nvidia-smi -q -i <uuid>, whatever the renumbering.
        try:
            record["uuid"] = nvml_uuid(torch.cuda.get_device_properties(index))
        except Exception:  # noqa: BLE001 - an identity fact missing is None, never a lost rank
            record["uuid"] = None
    return record


def gather_records(fleet: FleetRank, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every rank's record, in rank order, on rank 0 (None on the others)."""
    import torch.distributed as dist

    records = [None] * fleet.session.size if fleet.rank == 0 else None
    dist.gather_object(record, records, dst=0, group=fleet.session.control)
    return records
