"""``exabench bench collectives``: nccl-tests-style collectives over N local processes, or as
one rank of a torchrun/srun world; and the collectives part of ``exabench bench all``.

Registered on the ``bench`` group by :mod:`exabench.commands.bench`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from exabench.commands.bench import common_options
from exabench.errors import UserError

COLLECTIVE_NAMES = "all_reduce,all_gather,reduce_scatter,broadcast,reduce,all_to_all,sendrecv"


@click.command("collectives")
@common_options
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="Local processes to start (default: the visible GPUs; 2 on a CPU). Under torchrun/srun the world is theirs.")
@click.option("--min-bytes", default=None, help="Smallest size: 8, 1K, 1M, 1G (nccl-tests -b).")
@click.option("--max-bytes", default=None, help="Largest size (nccl-tests -e).")
@click.option("--step-factor", type=click.IntRange(min=2), default=None, help="Multiplicative size step (nccl-tests -f).")
@click.option("--dtype", default=None, help="Comma list of fp32,fp16,bf16,fp64,int8,int32,int64 (default fp32).")
@click.option("--op", default="sum", show_default=True, help="Reduction: sum, prod, max, min or avg (nccl-tests -o).")
@click.option("--iters", type=click.IntRange(min=1), default=None, help="Timed operations per size (nccl-tests -n).")
@click.option("--warmup-iters", type=click.IntRange(min=0), default=None, help="Untimed operations first (nccl-tests -w).")
@click.option("--collectives", default="all", show_default=True, help=f"Comma list of {COLLECTIVE_NAMES}, or all.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds before a dead or hung rank ends the run (process-group timeout and watchdog).")
@click.option("--master-addr", default="127.0.0.1", show_default=True,
              help="Address the local rendezvous binds (loopback unless told otherwise).")
@click.option("--append-to", default=None, hidden=True, help="Append to this Run (bench all).")
@click.option("--gloo-fallback", is_flag=True, hidden=True, help="Use the gloo fallbacks even where gloo has the op.")
def collectives_command(**options: Any) -> None:
    """NCCL collectives (gloo on a CPU) with nccl-tests' columns: algbw, busbw, #wrong, for
    the out-of-place and the in-place pass of each size. One Run, written by rank 0.

    \b
    Examples:
      exabench bench collectives --quick
      exabench bench collectives --nproc 8 --min-bytes 8 --max-bytes 8G --step-factor 2
      exabench bench collectives --collectives all_reduce --dtype bf16 --op sum --iters 50
      exabench bench collectives --quick --device cpu --nproc 4
      torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HEAD:29500 \\
          -m exabench bench collectives --max-bytes 1G
    """
    from exabench.bench.collectives import launch
    from exabench.bench.collectives.driver import default_nproc
    from exabench.bench.collectives.spec import build_spec, child_argv
    from exabench.bench.floors import parse_floors
    from exabench.commands.bench import apply_floors, exit_below_floors

    floors = parse_floors(options.pop("floor", ()))
    quick, out_dir, as_json = options.pop("quick"), options.pop("out_dir"), options.pop("as_json")
    device = _device_kind(options.pop("device"))
    spec = build_spec(options, device, quick)
    world = launch.world_from_env()
    if world is not None:
        if floors:
            raise UserError("--floor is not checked for bench collectives under torchrun or srun; use it with "
                            "--nproc (a local launch), or run exabench bench all --floor, which every rank checks")
        _run_rank(world, spec, out_dir=out_dir, as_json=as_json, append_to=options.get("append_to"))
        return
    nproc = options.get("nproc") or default_nproc(device)
    if device == "cuda" and nproc > default_nproc(device):
        raise UserError(f"--nproc {nproc}: only {default_nproc(device)} CUDA GPUs are visible (NCCL needs one "
                        "GPU per rank); use --nproc <= the GPU count, or --device cpu")
    argv = child_argv(spec, out_dir=out_dir, as_json=as_json, append_to=options.get("append_to"))
    outcome = launch.launch_local(["bench", "collectives", *argv], nproc, timeout_s=spec.timeout_s, bind=options["master_addr"])
    below = apply_floors(outcome.run_path, floors, quiet=as_json) if outcome.run_path else []
    if outcome.message:
        click.echo(f"error: {outcome.message}", err=True)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)
    exit_below_floors(below, outcome.run_path)


def _device_kind(requested: str | None) -> str:
    from exabench.bench.device import resolve

    return resolve(requested.split(":")[0] if requested else None).kind


def _run_rank(world, spec, *, out_dir: str, as_json: bool, append_to: str | None) -> None:
    """This process is one rank: sweep, and end non-zero (without tearing down a broken world,
    which can hang) on a fault."""
    from exabench.bench.collectives.driver import join, run_on_session

    session = join(world, spec)
    code, message, path = run_on_session(session, spec, out_dir=out_dir, append_to=append_to,
                                         quiet=as_json, standalone=not append_to)
    if as_json and path and not append_to:
        click.echo(json.dumps(json.loads(open(path, encoding="utf-8").read()), indent=1))
    if message:
        click.echo(f"error: {message}", err=True)
    session.close(code)
