"""The Run document (``schema = "exabench.run/1"``): what every benchmark writes, as a type,
and its readers.

Layout: ``schema, id, created, exabench_version, commit, environment, config, results,
telemetry``. Each result: ``suite, name, params, unit, samples, stats, metrics, status, error,
telemetry``. A Run is a JSON object on disk and a :class:`Run` (a typed dict: the same object,
so reading and writing it changes no byte) in memory. :func:`check_run` turns parsed JSON into
a :class:`Run` or refuses it with a one-line :class:`~exabench.errors.UserError`;
:func:`run_to_json` is the way back. The writer (``RunWriter``) lives with the benchmarks, in
:mod:`exabench.bench.writer`; everything that reads a Run imports this module instead.

A Run being written may keep its newest results in a JSON-lines journal beside it
(``<run>.json.journal``, one ``{"index", "result"}`` per line) while the Run file is rewritten
less often; :func:`load_run` merges the journal, so a reader always sees every finished result.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from exabench import __version__
from exabench.documents import check_versioned, read_json
from exabench.documents.schema import validate
from exabench.documents.stats import STAT_FIELDS, summarize
from exabench.errors import UserError

SCHEMA = "exabench.run/1"
STATUSES = ("ok", "failed", "skipped")
REQUIRED_FIELDS = ("schema", "id", "created", "environment", "config", "results")
JOURNAL_SUFFIX = ".journal"


class Stats(TypedDict):
    """Summary of a result's samples (:func:`exabench.documents.stats.summarize`); None where
    undefined (no samples; ``cv`` with fewer than two or a zero mean)."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    min: float | None
    max: float | None
    mean: float | None
    cv: float | None


class _ResultFields(TypedDict):
    suite: str
    """``gemm``, ``memory``, ``collectives``, ..."""
    name: str
    params: dict[str, Any]
    """What was measured (GEMM ``m, n, k, dtype``; memory ``kernel, bytes``; ...)."""
    unit: str
    """Unit of the samples: ``s``."""
    samples: list[float | None]
    """Every raw timing, in ``unit``."""
    stats: Stats
    metrics: dict[str, Any]
    """Derived figures: ``tflops``, ``pct_of_peak``, ``gbps``, ``busbw_gbps``, ..."""
    status: str
    """One of :data:`STATUSES`."""


class Result(_ResultFields, total=False):
    """One measured case of a Run."""

    error: str | None
    """Why it is not ``ok``."""
    telemetry: dict[str, Any] | None
    """Power, clocks, temperature and throttle reasons over the result's window."""
    check: dict[str, Any]
    """The correctness check that ran before timing (harness results)."""
    timing: dict[str, Any]
    """How it was timed: warm-up, repeats, L2 flush (harness results)."""
    ranks: dict[str, Any]
    """Per-rank figures of a collective."""


class _RunFields(TypedDict):
    schema: str
    id: str
    created: str
    """UTC, ISO 8601."""
    environment: dict[str, Any]
    """The fingerprint of ``exabench env``: ``host``, ``gpu``, ``software``, ``fingerprint``."""
    config: dict[str, Any]
    """What was asked (suites, sizes, dtypes, ranks, ...)."""
    results: list[Result]


class Run(_RunFields, total=False):
    """One Run document, checked (:func:`check_run`)."""

    exabench_version: str
    commit: str | None
    """The git commit of the exabench source, when it ran from a checkout."""
    telemetry: dict[str, Any] | None
    """The run-wide telemetry summary."""


def make_result(
    *,
    suite: str,
    name: str,
    params: Mapping[str, Any],
    unit: str = "s",
    samples: list[float] | None = None,
    metrics: Mapping[str, Any] | None = None,
    status: str = "ok",
    error: str | None = None,
    telemetry: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Result:
    """One result record; ``stats`` is always computed here from ``samples``, never passed in."""
    assert status in STATUSES, status
    samples = list(samples or [])
    result: dict[str, Any] = {
        "suite": suite,
        "name": name,
        "params": dict(params),
        "unit": unit,
        "samples": samples,
        "stats": summarize(samples),
        "metrics": dict(metrics or {}),
        "status": status,
        "error": error,
        "telemetry": dict(telemetry) if telemetry else None,
    }
    if extra:
        result.update(extra)
    return result  # type: ignore[return-value]  # the keys above are Result's


def json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON; write them as null rather than produce an unreadable file."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def encode(value: Any) -> str:
    """Compact JSON of a Run or a part of one, as the writer puts it on disk."""
    return json.dumps(json_safe(value), allow_nan=False, separators=(",", ":"))


def run_to_json(run: Run) -> str:
    """The text of a Run file: compact JSON and a newline, exactly what ``RunWriter`` writes
    (results last)."""
    head = {k: v for k, v in run.items() if k != "results"}
    return encode({**head, "results": run["results"]}) + "\n"


def journal_path(path: Path) -> Path:
    """The journal beside a Run being written."""
    return path.with_name(path.name + JOURNAL_SUFFIX)


def merge_journal(doc: dict[str, Any], path: Path) -> None:
    """Append the journal's results the Run file doesn't hold yet (a torn last line, from a
    process killed mid-write, is ignored: that result had not finished being recorded)."""
    try:
        lines = journal_path(path).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return
    except OSError as error:
        raise UserError(f"{journal_path(path)}: cannot read ({error.strerror or error})") from None
    results = doc.get("results")
    if not isinstance(results, list):
        return
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # torn by a kill mid-write; the indices keep the order of the rest
        if (isinstance(entry, dict) and entry.get("index") == len(results)
                and isinstance(entry.get("result"), dict)):
            results.append(entry["result"])


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read and check a Run document, its journal merged; any problem is a one-line
    :class:`UserError` naming the file."""
    path = Path(path)
    doc = read_json(path, missing_hint="; give the path of a Run JSON "
                                       "(exabench bench writes them under --out, default results/)")
    if isinstance(doc, dict):
        merge_journal(doc, path)
    return check_run(doc, source=str(path))


def check_run(doc: Any, *, source: str = "run") -> Run:
    """A parsed Run document, checked, as a :class:`Run` (the same object: a missing ``stats``
    field is filled from the samples, nothing else changes).

    The schema string first (an unknown version is refused as such), then the shape, once,
    against the published schema (``exabench/documents/schemas/run.schema.json``, through
    :func:`exabench.documents.schema.validate`): a problem is one line naming ``source``, the
    JSON path and what was expected."""
    check_versioned(doc, source=source, kind="Run", schema=SCHEMA, required=REQUIRED_FIELDS)
    validate(doc, "run", source=source)
    for result in doc["results"]:
        stats = result["stats"]
        if any(k not in stats for k in STAT_FIELDS):  # stats derive from the samples: fill gaps
            finite = [x for x in result["samples"] if x is not None and math.isfinite(x)]
            result["stats"] = {**summarize(finite), **stats}
    return doc


def identity_field(doc: Any, dotted: str) -> Any:
    """Follow a dotted path (``gpu.devices.name``) into an environment document; through a
    list, collect the field from every element."""
    head, _, rest = dotted.partition(".")
    if isinstance(doc, list):
        return [identity_field(item, dotted) for item in doc]
    value = doc.get(head) if isinstance(doc, dict) else None
    return identity_field(value, rest) if rest and value is not None else value


def exabench_machine_info(environment: Mapping[str, Any]) -> dict[str, Any]:
    """The identity of a Run's ``environment`` in brief: GPUs, driver, CUDA, NCCL, software and
    the fingerprint (pytest-benchmark's own ``machine_info`` records only the CPU, so the
    pytest-benchmark fixture and ``exabench export`` add this under ``"exabench"``)."""
    gpu = environment.get("gpu") or {}
    fields = ("name", "memory_bytes", "sm_count", "compute_capability", "power_limit_w",
              "sm_clock_max_mhz", "ecc_enabled", "mig_enabled")
    devices = [{k: d.get(k) for k in fields} for d in gpu.get("devices") or []]
    return {"fingerprint": environment.get("fingerprint"),
            "fingerprint_fields": environment.get("fingerprint_fields"),
            "gpu_count": gpu.get("count"), "gpus": devices, "driver": gpu.get("driver"),
            "cuda_runtime": gpu.get("cuda_runtime"), "nccl": gpu.get("nccl"),
            "software": environment.get("software"), "exabench_version": __version__}
