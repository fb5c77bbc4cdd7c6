"""``exabench bench gemm|all``: run microbenchmarks, write one Run document, print a table."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from exabench.errors import UserError

COMMON_HELP_EPILOG = "Results are written to --out as <UTC time>_<host>_<fingerprint>.json."


def common_options(fn: Callable) -> Callable:
    """Options every ``bench`` subcommand takes (--quick --device --out --json)."""
    decorators = [
        click.option("--quick", is_flag=True, help="A small representative subset (under 30 s on a 2-core CPU)."),
        click.option("--device", default=None, help="cuda, cuda:N or cpu (default: a GPU when there is one)."),
        click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False),
                     help="Folder for the Run document."),
        click.option("--json", "as_json", is_flag=True, help="Print the Run document as JSON instead of the table."),
        click.option("--warmup-ms", type=click.FloatRange(min=0), default=None, help="Warm-up budget per case (ms)."),
        click.option("--rep-ms", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Measurement budget per case (ms)."),
        click.option("--flush", type=click.Choice(["l2", "rotate", "none"]), default=None,
                     help="Cache flush between timed calls: write an L2-sized buffer, rotate input sets, or none."),
        click.option("--cuda-graph", is_flag=True, help="Replay calls from a CUDA graph (launch-bound sizes)."),
        click.option("--telemetry-hz", type=click.FloatRange(min=0), default=20.0, show_default=True,
                     help="NVML sampling rate for power, clocks and throttle reasons (0: off)."),
        click.option("--resume", "resume", default=None, metavar="RUN", type=click.Path(dir_okay=False),
                     help="Continue this interrupted Run (same options): measure only what it lacks."),
        click.option("--floor", "floor", multiple=True, metavar="NAME[:METRIC]=MIN",
                     help="Acceptance floor, repeatable: exit 1 unless the best ok result NAME reaches MIN "
                          "(metric default: tflops, gbps or busbw_gbps), e.g. --floor gemm_bf16=700."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


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


PREWARM_MAX_S = 600.0
"""Ten minutes: far past any GPU's thermal settling (mamf-finder warms 30 s); more is a typo."""


def prewarm_option(fn: Callable) -> Callable:
    return click.option("--prewarm-s", type=click.FloatRange(min=0, max=PREWARM_MAX_S), default=None,
                        help="Seconds of a large GEMM before the GEMM sweep, so a cold GPU's boost doesn't "
                             "inflate it (default: 30 on a GPU, 5 with --quick, 0 on a CPU).")(fn)


@command.command("gemm")
@common_options
@prewarm_option
@click.option("--dtype", default=None, help="Comma list of fp64,fp32,tf32,bf16,fp16,fp8,int8.")
@click.option("--sizes", default=None, help="Square sizes, e.g. 1024,4096,8k.")
@click.option("--shapes", default=None, help="MxNxK list, e.g. 4096x4096x4096,16x4096x14336.")
@click.option("--backend", default="torch", show_default=True, help="torch or cupy.")
@click.option("--skinny", is_flag=True, help="Decode-like shapes: M = 1..256 against a layer's weight matrices.")
@click.option("--model", default=None, help="Named GEMMs of a layer of this model (with --tokens); weights for --skinny.")
@click.option("--tokens", type=click.IntRange(min=1), default=None, help="Tokens per micro-batch for --model.")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True, help="Tensor-parallel degree for --model.")
@click.option("--mamf", is_flag=True, help="Search the maximum achievable matmul FLOP/s near --mamf-target.")
@click.option("--mamf-target", default="4096x4096x4096", show_default=True, help="MxNxK the MAMF search starts from.")
@click.option("--mamf-budget-s", type=click.FloatRange(min=1), default=60, show_default=True, help="MAMF search time budget.")
def gemm_command(**options: Any) -> None:
    """Tensor-core GEMM throughput (TFLOP/s and % of the datasheet peak) per precision and shape.

    \b
    Examples:
      exabench bench gemm --quick
      exabench bench gemm --dtype bf16 --sizes 8192 --json
      exabench bench gemm --dtype bf16 --mamf --mamf-budget-s 120
      exabench bench gemm --model llama3-70b --tokens 8192 --tp 8
      exabench bench gemm --quick --resume results/20261125T223837Z_vm_419dab51.json   # after a crash
    """
    run_suites(["gemm"], **_split(options))


@command.command("memory")
@common_options
@click.option("--kernels", default=None,
              help="Comma list of copy,scale,add,triad,dot,fill,host,peer (default: all; host and peer on a GPU).")
@click.option("--sizes", default=None, help="Bytes of one array, e.g. 4M,256MiB,1G (K/M/G binary, KB/MB/GB decimal).")
@click.option("--direction", default=None, help="Links to time: comma list of h2d,d2h,d2d,both (default: all).")
@click.option("--backend", default=None, help="Comma list of torch,cupy (default: both where cupy is installed).")
@click.option("--dtype", default=None, help="Element type of the STREAM arrays: fp32 (default) or fp64.")
def memory_command(**options: Any) -> None:
    """Memory bandwidth (GB/s and % of the datasheet peak): STREAM kernels on the device's
    memory over a size sweep, host<->device links, and GPU<->GPU peer links.

    \b
    Examples:
      exabench bench memory --quick
      exabench bench memory --kernels copy,triad --sizes 1G,4G
      exabench bench memory --kernels host --direction h2d,both
      exabench bench memory --device cpu --kernels copy,dot
    """
    run_suites(["memory"], **_split(options))


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
      exabench bench all --quick --floor gemm_bf16=600 --floor triad=2800   # acceptance: exit 1 below
      torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HEAD:29500 \\
          -m exabench bench all --quick --out fleet/
    """
    from exabench.bench.collectives.launch import world_from_env

    world = world_from_env()
    if world is not None:
        from exabench.bench.fleet import run_fleet

        fleet_options = _split(options)
        if fleet_options.pop("resume"):
            raise UserError("--resume is for one process; under torchrun or srun start a new fleet run without it")
        run_fleet(world, run_suites, **fleet_options)
        return
    run_suites(["all"], **_split(options))


def _split(options: dict[str, Any]) -> dict[str, Any]:
    fixed = {k: options.pop(k) for k in ("quick", "device", "out_dir", "as_json", "resume")}
    return {**fixed, "options": options}


def _timing(suite, device, quick: bool, options: dict[str, Any]):
    from dataclasses import replace

    config = suite.timing(device, quick)
    overrides = {k: options[k] for k in ("warmup_ms", "rep_ms", "flush") if options.get(k) is not None}
    if options.get("cuda_graph"):
        if not device.is_cuda:
            raise UserError("--cuda-graph needs a CUDA GPU; this run is on the CPU")
        if suite.name == "gemm" and options.get("backend") == "cupy":
            # cupy.matmul launches on cupy's stream, the legacy default one, which a capture
            # forbids; the STREAM kernels launch on torch's current stream and are captured.
            raise UserError("--cuda-graph times GEMMs with --backend torch only; drop one of the two")
        overrides["cuda_graph"] = True
    return replace(config, **overrides)


def _layer_dims(options: dict[str, Any]) -> None:
    """Resolve --model into the layer dimensions the GEMM shape hooks take."""
    if not options.get("model"):
        if options.get("tokens"):
            raise UserError("--tokens needs --model (the model whose layer GEMMs to time)")
        return
    from exabench.bench.gemm.shapes import LayerDims

    try:
        from exabench.workloads.models import load_model
    except ImportError:
        raise UserError("--model needs the model catalogue (exabench.workloads.models), not installed") from None
    model = load_model(options["model"])
    options["layer_dims"] = LayerDims(hidden=model.hidden, ffn_hidden=model.ffn_hidden, heads=model.heads,
                                      kv_heads=model.kv_heads, gated_mlp=model.activation == "swiglu")
    if not options.get("tokens") and not options.get("skinny"):
        options["tokens"] = model.seq_len


class _Progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and total > 1 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("benchmarking", total=total)

    def __enter__(self) -> _Progress:
        if self.bar:
            self.bar.start()
        return self

    def advance(self, description: str) -> None:
        if self.bar:
            self.bar.update(self.task, advance=1, description=description)

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()


def expand_suites(names: list[str]) -> list[str]:
    from exabench.bench.suites import SUITES

    if names == ["all"]:
        return list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise UserError(f"suite {unknown[0]!r} is not valid; valid: {', '.join(SUITES)}, all")
    return names


def run_suites(names: list[str], *, quick: bool, device: str | None, out_dir: str, as_json: bool,
               options: dict[str, Any], check_failures: bool = True, resume: str | None = None) -> str:
    """Build every case first (so bad options fail before anything runs), then measure them,
    making each result durable as it finishes. Returns the Run's path. With ``check_failures``
    a failed result ends the process (exit 1 or 2, see :func:`exit_on_failures`); the main job
    turns that off to plan and report first, and checks at its end. ``resume`` names an
    interrupted Run to continue (:mod:`exabench.bench.resume`)."""
    from exabench.bench import device as device_mod
    from exabench.bench.env import capture
    from exabench.bench.floors import parse_floors
    from exabench.bench.harness import measure
    from exabench.bench.suites import SUITES
    from exabench.bench.table import TablePrinter, footer
    from exabench.bench.telemetry.sampler import DEFAULT_HZ, add_work_figures, open_sampler
    from exabench.bench.writer import RunWriter

    resolved = device_mod.resolve(device)
    floors = parse_floors(options.get("floor"))
    _layer_dims(options)
    plan, runners = [], []
    for name in expand_suites(names):
        suite = SUITES[name]
        if suite.run is not None:  # starts its own processes (collectives): after the others
            runners.append(suite)
            continue
        plan.append((suite, suite.cases(options, resolved, quick), _timing(suite, resolved, quick, options)))
    extra = _mamf_requested(options, resolved)

    config = {"suites": [s.name for s, _, _ in plan] + [s.name for s in runners], "quick": quick, "device": f"{resolved.kind}:{resolved.index}",
              # `is`, not `in (None, False)`: 0 == False would drop --warmup-ms 0 from the record.
              "options": {k: v for k, v in options.items()
                          if v is not None and v is not False and v != () and k != "layer_dims"},
              "argv": sys.argv[1:]}
    if resume:
        from exabench.bench.resume import case_key, finished_keys, open_resumed

        writer = open_resumed(resume, config, capture())
        done = finished_keys(writer.results)
        plan = [(s, [c for c in cases if case_key(c) not in done], t) for s, cases, t in plan]
        # A runner's cases still missing (one figure for a runner that can't count its cases).
        pending = {s.name: s.pending(writer.results, resolved, quick) if s.pending else 1 for s in runners}
        runners = [s for s in runners if pending[s.name]]
        if extra and any(str(r.get("name", "")).startswith("mamf_") for r in writer.results):
            extra = None
        if not as_json:
            click.echo(f"# resuming {writer.path}: {len(writer.results)} results kept, "
                       f"{sum(len(c) for _, c, _ in plan) + sum(pending.values()) + (1 if extra else 0)} to go")
    else:
        writer = RunWriter(out_dir, capture(), config)
    if resolved.is_cuda:
        import torch

        torch.cuda.set_device(resolved.index)  # events and ops go to the benchmarked GPU's streams
    sampler, why_not = open_sampler(resolved, options.get("telemetry_hz", DEFAULT_HZ))
    if sampler is None and resolved.is_cuda:
        click.echo(f"# telemetry: {why_not}", err=True)
    table = TablePrinter(io.StringIO() if as_json else sys.stdout)
    total = sum(len(cases) for _, cases, _ in plan) + (1 if extra else 0)
    try:
        _prewarm_if_timing_gemm(plan, resolved, quick, options.get("prewarm_s"), writer, quiet=as_json)
        with _Progress(total, enabled=not as_json) as progress:
            for _suite, cases, timing in plan:
                for case in cases:
                    result = measure(case, resolved, timing, sampler)
                    add_work_figures(result)
                    writer.add(result)
                    table.row(result)
                    progress.advance(f"{case.suite} {case.name}")
            if extra:
                result = extra()
                writer.add(result)
                table.row(result)
        table.finish()
        for suite in runners:
            writer = suite.run(writer, resolved, quick, as_json)
        below = record_floors(writer, floors, quiet=as_json)
    except KeyboardInterrupt:
        raise UserError(f"interrupted; {len(writer.results)} finished results kept in {writer.path} "
                        f"(add --resume {writer.path} to the same command to finish it)") from None
    finally:
        if sampler is not None:
            writer.set("telemetry", sampler.run_summary())
            sampler.close()
        writer.close()
    if as_json:
        from exabench.documents.run import load_run

        click.echo(json.dumps(load_run(writer.path), indent=1))  # the writer keeps summaries only
    else:
        if check_failures and len(config["suites"]) > 1:
            _print_headline(writer.results)
        click.echo(footer(writer.results, str(writer.path)))
    if check_failures:
        exit_on_failures(writer.results, writer.path)
        exit_below_floors(below, writer.path)
    return str(writer.path)


def _print_headline(results: list[dict[str, Any]]) -> None:
    """After a multi-suite Run's tables: its best figure per precision, kernel, link direction and
    collective, as ``exabench run`` prints them (memory kernels at their largest array)."""
    from exabench.reports.terminal import measured_lines

    click.echo("# headline (best median per precision, kernel and collective):")
    for line in measured_lines({"results": results}):
        if not line.lstrip().startswith("results"):  # the footer below counts them
            click.echo("#" + line[1:])


def record_floors(writer, floors, *, quiet: bool) -> list[dict[str, Any]]:
    """Check the Run being written against ``--floor`` and record the verdicts in it
    (``floors``); print one line each unless ``quiet``. Returns the floors missed."""
    if not floors:
        return []
    from exabench.bench.floors import check_floors, describe, missed

    verdicts = check_floors(writer.results, floors)
    writer.set("floors", verdicts)
    if not quiet:
        for verdict in verdicts:
            click.echo(f"# floor {describe(verdict)}")
    return missed(verdicts)


def apply_floors(path, floors, *, quiet: bool) -> list[dict[str, Any]]:
    """:func:`record_floors` for a finished Run another process wrote (``bench collectives``'
    rank 0)."""
    if not floors:
        return []
    from exabench.bench.writer import RunWriter

    writer = RunWriter.resume(path)
    try:
        return record_floors(writer, floors, quiet=quiet)
    finally:
        writer.close()


def exit_below_floors(below: list[dict[str, Any]], path) -> None:
    """Exit 1 when a floor was missed: the node measured fine and is not fast enough."""
    if not below:
        return
    from exabench.bench.floors import describe

    click.echo(f"error: {len(below)} acceptance floor(s) missed ({describe(below[0])}); Run kept in {path}", err=True)
    sys.exit(1)


def _prewarm_if_timing_gemm(plan, device, quick: bool, seconds: float | None, writer, *, quiet: bool) -> None:
    """Heat the GPU before GEMM cases are timed (:mod:`exabench.bench.gemm.prewarm`); each start of
    the Run (a resume included) appends what ran to its ``prewarm`` list."""
    from exabench.bench.gemm.prewarm import default_seconds, prewarm

    seconds = default_seconds(device, quick) if seconds is None else seconds
    if seconds <= 0 or not any(suite.name == "gemm" and cases for suite, cases, _ in plan):
        return
    if not quiet:
        click.echo(f"# prewarm: {seconds:g} s of back-to-back GEMMs before timing (a cold GPU boosts higher)")
    record = prewarm(device, seconds)
    done = writer.doc.get("prewarm")
    writer.set("prewarm", [*(done if isinstance(done, list) else []), record])


def exit_on_failures(results: list[dict[str, Any]], path) -> None:
    """Every case ran and its record is in the Run; now say loudly if any failed.

    Exit 2 (a user error) when only sizes that can't fit in memory failed: the user asked for
    them. Exit 1 when a result was wrong or a benchmark raised: the machine or the software is
    at fault, and CI should notice.
    """
    failed = [r for r in results if r["status"] == "failed"]
    if not failed:
        return
    oom = [r for r in failed if (r.get("error") or "").startswith("out of memory")]
    first = failed[0]
    message = f"{len(failed)} of {len(results)} results failed ({first['name']}: {first['error']}); all kept in {path}"
    if len(oom) == len(failed):
        raise UserError(message)
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _mamf_requested(options: dict[str, Any], device) -> Callable[[], dict[str, Any]] | None:
    if not options.get("mamf"):
        return None
    from exabench.bench.gemm.mamf import mamf_search
    from exabench.bench.gemm.shapes import parse_shapes
    from exabench.bench.suites import parse_dtypes

    dtypes = parse_dtypes(options.get("dtype"), ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8"),
                          ("bf16",) if device.is_cuda else ("fp32",))
    target = parse_shapes(options["mamf_target"])[0]
    return lambda: mamf_search(device, dtypes[0], target, budget_s=options["mamf_budget_s"],
                               backend=options.get("backend") or "torch")


def _register_subcommands() -> None:
    from exabench.commands.bench_collectives import collectives_command

    command.add_command(collectives_command)


_register_subcommands()
