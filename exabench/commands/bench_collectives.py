"""``exabench bench collectives``: nccl-tests-style collectives over N local processes, or as
one rank of a torchrun/srun world (:func:`exabench.bench.collectives.driver.run_collectives`).

Registered on the ``bench`` group by :mod:`exabench.commands.bench`.
"""

from __future__ import annotations

from typing import Any

import click

from exabench.bench.collectives.driver import run_collectives
from exabench.bench.sweeps import CollectiveSweep
from exabench.commands._options import BYTES_HELP, ByteSize, Names, common_options, run_options
from exabench.commands._outcome import end

COLLECTIVE_NAMES = "all_reduce,all_gather,reduce_scatter,broadcast,reduce,all_to_all,sendrecv"


@click.command("collectives")
@common_options
@click.option("--nproc", type=click.IntRange(min=1), default=None,
              help="Local processes to start (default: the visible GPUs; 2 on a CPU). Under "
                   "torchrun/srun the world is theirs.")
@click.option("--min-bytes", type=ByteSize(), default=None,
              help=f"Smallest size, e.g. 8, 1Ki, 1M, 1Gi (nccl-tests -b; {BYTES_HELP}).")
@click.option("--max-bytes", type=ByteSize(), default=None,
              help="Largest size (nccl-tests -e), as --min-bytes: 1G = 10^9 bytes, 1Gi = 2^30.")
@click.option("--step-factor", type=click.IntRange(min=2), default=None,
              help="Multiplicative size step (nccl-tests -f).")
@click.option("--dtype", type=Names(), default=None,
              help="Comma list of fp32,fp16,bf16,fp64,int8,int32,int64 (default fp32).")
@click.option("--op", default="sum", show_default=True,
              help="Reduction: sum, prod, max, min or avg (nccl-tests -o).")
@click.option("--iters", type=click.IntRange(min=1), default=None,
              help="Timed operations per size (nccl-tests -n).")
@click.option("--warmup-iters", type=click.IntRange(min=0), default=None,
              help="Untimed operations first (nccl-tests -w).")
@click.option("--collectives", type=Names(), default="all", show_default=True,
              help=f"Comma list of {COLLECTIVE_NAMES}, or all.")
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds before a dead or hung rank ends the run (process-group timeout and "
                   "watchdog).")
@click.option("--master-addr", default="127.0.0.1", show_default=True,
              help="Address the local rendezvous binds (loopback unless told otherwise).")
@click.option("--append-to", default=None, hidden=True, help="Append to this Run (bench all).")
@click.option("--gloo-fallback", is_flag=True, hidden=True,
              help="Use the gloo fallbacks even where gloo has the op.")
def collectives_command(**options: Any) -> None:
    """NCCL collectives (gloo on a CPU) with nccl-tests' columns: algbw, busbw, #wrong, for
    the out-of-place and the in-place pass of each size. One Run, written by rank 0.

    \b
    Examples:
      exabench bench collectives --quick
      exabench bench collectives --nproc 8 --min-bytes 8 --max-bytes 8Gi --step-factor 2
      exabench bench collectives --collectives all_reduce --dtype bf16 --op sum --iters 50
      exabench bench collectives --quick --device cpu --nproc 4
      torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HEAD:29500 \\
          -m exabench bench collectives --max-bytes 1Gi
    """
    run = run_options(options)
    append_to = options.pop("append_to")
    names, op = options.pop("collectives"), options.pop("op").lower()
    sweep = CollectiveSweep(collectives=None if names == ("all",) else names, op=op, **options)
    end(*run_collectives(run, sweep, append_to=append_to))
