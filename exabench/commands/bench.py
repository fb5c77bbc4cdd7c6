"""``exabench bench gemm|memory|all``: the options, as typed sweep configs
(:mod:`exabench.bench.sweeps`), handed to the runner (:mod:`exabench.bench.runner`), which
writes one Run and prints its table; ``bench collectives`` is
:mod:`exabench.commands.bench_collectives`."""

from __future__ import annotations

from typing import Any

import click

from exabench.bench.collectives.launch import world_from_env
from exabench.bench.runner import run_benchmarks
from exabench.bench.sweeps import GemmSweep, MemorySweep
from exabench.commands._fleet import screen_fleet
from exabench.commands._options import (
    BYTES_HELP,
    ByteSizes,
    Names,
    Shape,
    Shapes,
    Sides,
    common_options,
    prewarm_option,
    run_options,
)
from exabench.commands._outcome import finish
from exabench.commands.bench_collectives import collectives_command


@click.group("bench")
def command() -> None:
    """Run microbenchmarks and write a Run document.

    \b
    Examples:
      exabench bench gemm --quick
      exabench bench gemm --dtype bf16,fp8 --sizes 4096,8192
      exabench bench memory --quick
      exabench bench all --quick --out results/
    """


command.add_command(collectives_command)


@command.command("gemm")
@common_options
@prewarm_option
@click.option("--dtype", type=Names(), default=None,
              help="Comma list of fp64,fp32,tf32,bf16,fp16,fp8,int8.")
@click.option("--sizes", type=Sides(), default=None,
              help="Square sizes, e.g. 1024,4096,8k (k = 1024).")
@click.option("--shapes", type=Shapes(), default=None,
              help="MxNxK list, e.g. 4096x4096x4096,16x4096x14336.")
@click.option("--backend", default="torch", show_default=True, help="torch or cupy.")
@click.option("--skinny", is_flag=True,
              help="Decode-like shapes: M = 1..256 against a layer's weight matrices.")
@click.option("--model", default=None,
              help="Named GEMMs of a layer of this model (with --tokens); weights for --skinny.")
@click.option("--tokens", type=click.IntRange(min=1), default=None,
              help="Tokens per micro-batch for --model.")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tensor-parallel degree for --model.")
@click.option("--mamf", is_flag=True,
              help="Search the maximum achievable matmul FLOP/s near --mamf-target.")
@click.option("--mamf-target", type=Shape(), default="4096x4096x4096", show_default=True,
              help="MxNxK the MAMF search starts from.")
@click.option("--mamf-budget-s", type=click.FloatRange(min=1), default=60, show_default=True,
              help="MAMF search time budget.")
def gemm_command(**options: Any) -> None:
    """Tensor-core GEMM throughput (TFLOP/s and % of the datasheet peak) per precision and shape.

    \b
    Examples:
      exabench bench gemm --quick
      exabench bench gemm --dtype bf16 --sizes 8192 --json
      exabench bench gemm --dtype bf16 --mamf --mamf-budget-s 120
      exabench bench gemm --model llama3-70b --tokens 8192 --tp 8
      exabench bench gemm --quick \\
          --resume results/20261125T223837Z_vm_419dab51.json   # after a crash
    """
    run = run_options(options)
    finish(run_benchmarks(run, [GemmSweep(**options)]), as_json=run.quiet)


@command.command("memory")
@common_options
@click.option("--kernels", type=Names(), default=None,
              help="Comma list of copy,scale,add,triad,dot,fill,host,peer (default: all; host and "
                   "peer on a GPU).")
@click.option("--sizes", type=ByteSizes(), default=None,
              help=f"Bytes of one array, comma list, e.g. 4M,256Mi,1G ({BYTES_HELP}).")
@click.option("--direction", type=Names(), default=None,
              help="Links to time: comma list of h2d,d2h,d2d,both (default: all).")
@click.option("--backend", type=Names(), default=None,
              help="Comma list of torch,cupy (default: both where cupy is installed).")
@click.option("--dtype", type=Names(), default=None,
              help="Element type of the STREAM arrays: fp32 (default) or fp64.")
def memory_command(**options: Any) -> None:
    """Memory bandwidth (GB/s and % of the datasheet peak): STREAM kernels on the device's
    memory over a size sweep, host<->device links, and GPU<->GPU peer links.

    \b
    Examples:
      exabench bench memory --quick
      exabench bench memory --kernels copy,triad --sizes 1Gi,4Gi
      exabench bench memory --kernels host --direction h2d,both
      exabench bench memory --device cpu --kernels copy,dot
    """
    run = run_options(options)
    finish(run_benchmarks(run, [MemorySweep(**options)]), as_json=run.quiet)


@command.command("all")
@common_options
@prewarm_option
def all_command(**options: Any) -> None:
    """Every benchmark suite in one Run. Under torchrun or srun (one process per GPU) it screens
    the fleet: one Run per GPU, collectives over the whole world, and a fleet summary with the
    outlier GPUs and nodes.

    \b
    Examples:
      exabench bench all --quick
      exabench bench all --quick \\
          --floor gemm_bf16=600 --floor triad=2800   # acceptance: exit 1 below
      torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HEAD:29500 \\
          -m exabench bench all --quick --out fleet/
    """
    run = run_options(options)
    world = world_from_env()
    if world is not None:
        screen_fleet(world, run)
    finish(run_benchmarks(run), as_json=run.quiet)
