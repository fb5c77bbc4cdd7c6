"""The driver of a benchmark Run: ``exabench bench gemm|memory|all``, ``exabench run`` and each
rank of a fleet screening call :func:`run_benchmarks`.

It builds every case first (so a bad option fails before anything runs), opens the Run or
continues an interrupted one (:mod:`exabench.bench.resume`), samples telemetry, heats the GPU
before GEMMs, measures each case and makes its result durable as it finishes, prints the
table (with a progress bar on a terminal), checks the acceptance floors, and returns a
:class:`BenchOutcome`. It never ends the process: the CLI ends with the outcome's exit code.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from exabench.bench import device as devices
from exabench.bench import harness, suites
from exabench.bench.device import Device
from exabench.bench.env import capture
from exabench.bench.floors import missed_message, parse_floors, record_floors
from exabench.bench.gemm import mamf, prewarm
from exabench.bench.harness import Case, TimingConfig
from exabench.bench.resume import case_key, finished_keys, open_resumed
from exabench.bench.sweeps import SWEEPS, GemmSweep, RunOptions, Sweep
from exabench.bench.table import TablePrinter
from exabench.bench.telemetry import sampler as telemetry
from exabench.bench.writer import RunWriter
from exabench.errors import USER_ERROR_EXIT, UserError


@dataclass(kw_only=True, frozen=True)
class BenchOutcome:
    """How a Run ended: where it is, what it holds, and the exit code the CLI ends with."""

    path: Path
    results: list[dict[str, Any]]
    """A summary of each result (:attr:`RunWriter.results`: no samples)."""
    suites: tuple[str, ...]
    floors: list[dict[str, Any]]
    """The acceptance floors' verdicts (:func:`exabench.bench.floors.check_floors`)."""
    exit_code: int
    """0; 2 when only sizes too large for memory failed (the user asked for them); 1 when a
    result was wrong, a benchmark raised, or a floor was missed."""
    message: str | None
    """Why the exit code is not 0, in one line."""


def verdict(results: list[dict[str, Any]], floors: list[dict[str, Any]],
            path: Path | str) -> tuple[int, str | None]:
    """Every case ran and its record is in the Run; now say loudly if any failed (exit 2 when
    only out-of-memory sizes did, 1 otherwise), else whether a floor was missed (exit 1: the node
    measured fine and is not fast enough)."""
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        first = failed[0]
        message = (f"{len(failed)} of {len(results)} results failed ({first['name']}: "
                   f"{first['error']}); all kept in {path}")
        oom = [r for r in failed if (r.get("error") or "").startswith("out of memory")]
        return (USER_ERROR_EXIT if len(oom) == len(failed) else 1), message
    below = missed_message(floors, path)
    return (1, below) if below else (0, None)


@dataclass(kw_only=True)
class Work:
    """What a Run measures, built (and so validated) before anything runs."""

    measured: list[tuple[suites.Suite, list[Case], TimingConfig]]
    """Each in-process suite with its cases and timing."""
    launched: list[suites.Suite]
    """Suites that start their own processes (collectives): run after the others."""
    mamf: Callable[[], dict[str, Any]] | None = None
    """The MAMF search, when asked for: one result."""
    pending: dict[str, int] = field(default_factory=dict)
    """A launched suite's cases still to measure, after a resume."""

    @property
    def suite_names(self) -> list[str]:
        return [s.name for s, _, _ in self.measured] + [s.name for s in self.launched]

    def count(self) -> int:
        """Results the in-process part will add."""
        return sum(len(cases) for _, cases, _ in self.measured) + (1 if self.mamf else 0)

    def resumed(self, results: list[dict[str, Any]], device: Device, quick: bool) -> Work:
        """What is left to measure next to the ``results`` an interrupted Run already holds."""
        done = finished_keys(results)
        measured = [(s, [c for c in cases if case_key(c) not in done], t)
                    for s, cases, t in self.measured]
        # One figure for a launched suite that can't count its cases.
        pending = {s.name: s.pending(results, device, quick) if s.pending else 1
                   for s in self.launched}
        has_mamf = any(str(r.get("name", "")).startswith("mamf_") for r in results)
        return Work(measured=measured, launched=[s for s in self.launched if pending[s.name]],
                    mamf=None if has_mamf else self.mamf, pending=pending)


def plan_work(options: RunOptions, sweeps: Sequence[Sweep] | None, device: Device, *,
              local_only: bool = False) -> Work:
    """Every suite of ``sweeps`` (None: every suite, each with its defaults) as cases; with
    ``local_only``, not the suites that start their own processes."""
    given = {sweep.suite: sweep for sweep in sweeps} if sweeps is not None else None
    work = Work(measured=[], launched=[])
    for name in given if given is not None else list(suites.SUITES):
        suite = suites.SUITES[name]
        if suite.run is not None:  # the collectives of `bench all`, with their defaults
            if not local_only:
                work.launched.append(suite)
            continue
        sweep = given[name] if given is not None else SWEEPS[name]()
        work.measured.append((suite, suite.cases(sweep, device, options.quick),
                              _timing(suite, sweep, device, options)))
        if isinstance(sweep, GemmSweep) and sweep.mamf:
            work.mamf = _mamf(sweep, device)
    return work


def _timing(suite: suites.Suite, sweep: Sweep, device: Device, options: RunOptions) -> TimingConfig:
    config = suite.timing(device, options.quick)
    overrides: dict[str, Any] = {k: getattr(options, k) for k in ("warmup_ms", "rep_ms", "flush")
                                 if getattr(options, k) is not None}
    if options.cuda_graph:
        if not device.is_cuda:
            raise UserError("--cuda-graph needs a CUDA GPU; this run is on the CPU")
        if isinstance(sweep, GemmSweep) and sweep.backend == "cupy":
            # cupy.matmul launches on cupy's stream, the legacy default one, which a capture
            # forbids; the STREAM kernels launch on torch's current stream and are captured.
            raise UserError("--cuda-graph times GEMMs with --backend torch only; drop one of "
                            "the two")
        overrides["cuda_graph"] = True
    return replace(config, **overrides)


def _mamf(sweep: GemmSweep, device: Device) -> Callable[[], dict[str, Any]]:
    """The MAMF search of the sweep's first precision (bf16 on a GPU, fp32 on a CPU by default)."""
    dtype = (sweep.dtype or (("bf16",) if device.is_cuda else ("fp32",)))[0]
    return lambda: mamf.mamf_search(device, dtype, sweep.mamf_target, budget_s=sweep.mamf_budget_s,
                                    backend=sweep.backend)


def run_config(options: RunOptions, sweeps: Sequence[Sweep] | None, work: Work,
               device: Device) -> dict[str, Any]:
    """The Run's ``config``: what was asked (``--resume`` checks a resumed run asks the same)."""
    recorded = options.recorded()
    for sweep in sweeps or ():
        recorded.update(sweep.recorded())
    return {"suites": work.suite_names, "quick": options.quick,
            "device": f"{device.kind}:{device.index}", "options": recorded, "argv": sys.argv[1:]}


def run_benchmarks(options: RunOptions, sweeps: Sequence[Sweep] | None = None, *,
                   local_only: bool = False) -> BenchOutcome:
    """Measure ``sweeps`` (None: every suite with its defaults, as ``bench all``) into one Run;
    ``local_only`` leaves out the suites that start processes of their own (a fleet's rank
    joins the collectives over the whole world instead).

    Raises :class:`UserError` for a bad option (before anything runs) and on Ctrl-C (saying how
    to resume); a failed result is recorded and the sweep goes on, and the outcome says so."""
    device = devices.resolve(options.device)
    floors = parse_floors(options.floors)
    work = plan_work(options, sweeps, device, local_only=local_only)
    writer = _open_writer(options, run_config(options, sweeps, work, device))
    if options.resume:
        work = work.resumed(writer.results, device, options.quick)
        if not options.quiet:
            print(f"# resuming {writer.path}: {len(writer.results)} results kept, "
                  f"{work.count() + sum(work.pending.values())} to go", flush=True)
    if device.is_cuda:
        import torch

        torch.cuda.set_device(device.index)  # events and ops go to the benchmarked GPU's streams
    hz = telemetry.DEFAULT_HZ if options.telemetry_hz is None else options.telemetry_hz
    sampler, why_not = telemetry.open_sampler(device, hz)
    if sampler is None and device.is_cuda:
        print(f"# telemetry: {why_not}", file=sys.stderr, flush=True)
    try:
        _measure(work, writer, device, sampler, options)
        for suite in work.launched:
            writer = suite.run(writer, device, options.quick, options.quiet)
        verdicts = record_floors(writer, floors, quiet=options.quiet)
    except KeyboardInterrupt:
        raise UserError(f"interrupted; {len(writer.results)} finished results kept in "
                        f"{writer.path} (add --resume {writer.path} to the same command to "
                        "finish it)") from None
    finally:
        if sampler is not None:
            writer.set("telemetry", sampler.run_summary())
            sampler.close()
        writer.close()
    code, message = verdict(writer.results, verdicts, writer.path)
    return BenchOutcome(path=Path(writer.path), results=writer.results,
                        suites=tuple(work.suite_names), floors=verdicts, exit_code=code,
                        message=message)


def _open_writer(options: RunOptions, config: dict[str, Any]) -> RunWriter:
    if options.resume:
        return open_resumed(options.resume, config, capture())
    return RunWriter(options.out_dir, capture(), config)


def _measure(work: Work, writer: RunWriter, device: Device, sampler: Any,
             options: RunOptions) -> None:
    """The in-process suites, case by case: each result durable in the Run, then in the table."""
    table = TablePrinter(io.StringIO() if options.quiet else sys.stdout)
    _prewarm_if_timing_gemm(work, device, options, writer)
    with _Progress(work.count(), enabled=not options.quiet) as progress:
        for _suite, cases, timing in work.measured:
            for case in cases:
                result = harness.measure(case, device, timing, sampler)
                telemetry.add_work_figures(result)
                writer.add(result)
                table.row(result)
                progress.advance(f"{case.suite} {case.name}")
        if work.mamf:
            result = work.mamf()
            writer.add(result)
            table.row(result)
    table.finish()


def _prewarm_if_timing_gemm(work: Work, device: Device, options: RunOptions,
                            writer: RunWriter) -> None:
    """Heat the GPU before GEMM cases are timed (:mod:`exabench.bench.gemm.prewarm`); each start
    of the Run (a resume included) appends what ran to its ``prewarm`` list."""
    seconds = options.prewarm_s
    if seconds is None:
        seconds = prewarm.default_seconds(device, options.quick)
    if seconds <= 0 or not any(suite.name == "gemm" and cases for suite, cases, _ in work.measured):
        return
    if not options.quiet:
        print(f"# prewarm: {seconds:g} s of back-to-back GEMMs before timing (a cold GPU boosts "
              "higher)", flush=True)
    record = prewarm.prewarm(device, seconds)
    done = writer.doc.get("prewarm")
    writer.set("prewarm", [*(done if isinstance(done, list) else []), record])


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


def time_case(case: Case, *, once: bool = False,
              **fields: Any) -> tuple[dict[str, Any], Device, TimingConfig]:
    """One case measured outside any Run, for the pytest-benchmark fixture: with its suite's
    timing and the overrides of ``fields`` (those of :class:`RunOptions`), as in a Run, but
    ``cuda_graph`` applies on a GPU and is ignored on a CPU, so one test runs on both. ``once``
    checks the case and times a single call (``--benchmark-disable``). Returns the result, the
    device and the timing used."""
    options = RunOptions(**fields)
    device = devices.resolve(options.device)
    suite = suites.SUITES.get(case.suite)
    config = suite.timing(device, options.quick) if suite else TimingConfig()
    overrides: dict[str, Any] = {k: getattr(options, k) for k in ("warmup_ms", "rep_ms", "flush")
                                 if getattr(options, k) is not None}
    if options.cuda_graph and device.is_cuda:
        overrides["cuda_graph"] = True
    if once:
        overrides.update(warmup_ms=0.0, rep_ms=1e-3, min_samples=1, max_samples=1)
    config = replace(config, **overrides)
    return harness.measure(case, device, config), device, config
