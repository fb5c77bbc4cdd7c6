"""pytest-benchmark JSON as input to ``compare`` and ``history``: the one place that turns such
a document into the Run-shaped form the regression statistics read.

A pytest-benchmark document (``pytest --benchmark-json``, ``--benchmark-save``/``-autosave``
under ``.benchmarks/``, ``exabench export --format pytest-benchmark``, the ``gpu_benchmark``
fixture of ``exabench.bench.pytest_plugin``) is a JSON object with ``machine_info``,
``commit_info``, ``benchmarks[]``, ``datetime`` and ``version`` and no ``schema``. Each benchmark
holds ``group, name, fullname, params, param, extra_info, options, stats``; ``stats`` has the
summary fields and, when the file kept them, ``data``: every round's time in seconds, already
divided by the iterations per round (ionelmc/pytest-benchmark@04b951e
``src/pytest_benchmark/plugin.py: pytest_benchmark_generate_json`` and ``stats.py:
Metadata.as_dict/update``). ``--benchmark-json`` always writes ``data``; ``--benchmark-save`` and
``--benchmark-autosave`` write it only with ``--benchmark-save-data`` (``session.py:
handle_saving``).

The conversion: one document becomes one Run-shaped dict (:data:`FORMAT` in ``config.format``,
``schema`` :data:`FORMAT` too, never ``exabench.run/...``), each benchmark one ``ok`` result
with ``suite`` :data:`SUITE`, ``name`` its ``fullname``, ``params`` its ``params`` (``{}`` when
null), ``unit`` ``s`` and ``samples`` its ``stats.data``, so a series is keyed by fullname and
params. ``stats`` are recomputed from the samples (:func:`exabench.documents.stats.summarize`);
the file's own summary is not trusted. A file without ``stats.data`` is refused: the rank test and
the bootstrap need every timing, not a summary.

The machine: ``machine_info["exabench"]`` (written by the exporter and the fixture) carries a
Run's ``fingerprint``, which is kept, so an exported Run and the Run itself share it. Otherwise
the fingerprint hashes pytest-benchmark's own identity fields (:data:`IDENTITY_FIELDS`: OS,
architecture, Python implementation and version, CPU), as its storage folders
(``Linux-CPython-3.11-64bit``) separate machines.

A Run and a pytest-benchmark file compare only through the names the exporter gives a Run's
results (:func:`exported_fullname`, the rule of ``reports/interop.py: benchmark_entry``):
:func:`with_pytest_benchmark_keys` renames a Run's results that way.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from exabench.documents.run import SCHEMA as RUN_SCHEMA
from exabench.documents.run import Result, Run, check_run, identity_field, make_result
from exabench.errors import UserError

FORMAT = "pytest-benchmark"
SUITE = "pytest-benchmark"
RUN_PREFIX = RUN_SCHEMA.rsplit("/", 1)[0] + "/"
ACCEPTED = (f"a Run (schema {RUN_SCHEMA!r}, from exabench bench) or a pytest-benchmark JSON file "
            "(pytest --benchmark-json, exabench export --format pytest-benchmark)")
IDENTITY_FIELDS = ("host.system", "host.machine", "host.python_implementation", "host.python",
                   "host.cpu_model")
NO_SAMPLES_HINT = ("compare and history test every timing, not a summary: write the file with "
                   "'pytest --benchmark-json=FILE', or add --benchmark-save-data to "
                   "--benchmark-save/--benchmark-autosave")
EXABENCH_GPU_FIELDS = ("driver", "cuda_runtime", "nccl")


def is_pytest_benchmark(doc: Any) -> bool:
    """A JSON object with ``benchmarks`` and no ``schema``: what pytest-benchmark writes."""
    return isinstance(doc, dict) and "benchmarks" in doc and "schema" not in doc


def is_converted(run: Mapping[str, Any]) -> bool:
    """Whether ``run`` came from a pytest-benchmark document (:func:`from_pytest_benchmark`)."""
    config = run.get("config")
    return isinstance(config, dict) and config.get("format") == FORMAT


def read_timings(doc: Any, *, source: str, name: str) -> Run:
    """A parsed JSON document as a Run-shaped dict for ``compare`` and ``history``: a Run is
    checked (:func:`exabench.documents.run.check_run`), a pytest-benchmark document converted
    (``name``, e.g. the file's stem, becomes its id); anything else is a one-line UserError
    naming ``source`` and the formats read."""
    if is_pytest_benchmark(doc):
        return from_pytest_benchmark(doc, source=source, name=name)
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if isinstance(schema, str) and schema.startswith(RUN_PREFIX):
        return check_run(doc, source=source)
    raise UserError(f"{source}: {_what(doc)} is not a document compare and history read; "
                    f"give {ACCEPTED}")


def _what(doc: Any) -> str:
    if not isinstance(doc, dict):
        return f"a JSON {_json_type(doc)}"
    if "schema" in doc:
        return f"a document of schema {_short(doc['schema'])}"
    return "a JSON object without 'schema' or 'benchmarks'"


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null", dict: "object"}
    return names.get(type(value), "number")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "a value nested too deeply"
    return text if len(text) <= 60 else text[:57] + "..."


def from_pytest_benchmark(doc: Mapping[str, Any], *, source: str, name: str) -> Run:
    """One pytest-benchmark document as a Run-shaped dict (see the module docstring); a
    malformed one, or one without raw timings, is a one-line UserError naming ``source``."""
    benchmarks = doc.get("benchmarks")
    if not isinstance(benchmarks, list):
        raise UserError(f"{source}: pytest-benchmark 'benchmarks' must be a list, "
                        f"not {_json_type(benchmarks)}")
    if not benchmarks:
        raise UserError(f"{source}: pytest-benchmark file holds no benchmarks (an empty "
                        "'benchmarks' list); run pytest with benchmarks selected")
    machine_info = doc.get("machine_info")
    machine_info = machine_info if isinstance(machine_info, dict) else {}
    exabench_made = (_text(doc.get("generator")) or "").startswith("exabench ")
    results = [_result(b, i, source, exabench_made) for i, b in enumerate(benchmarks)]
    commit_info = doc.get("commit_info")
    commit = commit_info.get("id") if isinstance(commit_info, dict) else None
    return {  # type: ignore[return-value]  # Run's keys, a Run by shape
        "schema": FORMAT,
        "id": name,
        "created": _created(doc.get("datetime"), source),
        "commit": commit if isinstance(commit, str) and commit != "unknown" else None,
        "environment": environment(machine_info),
        "config": {"format": FORMAT, "version": _text(doc.get("version")), "source": source},
        "results": results,
        "telemetry": None,
    }


def _created(value: Any, source: str) -> str:
    """pytest-benchmark's ``datetime`` (ISO 8601, UTC; older versions wrote it without an
    offset) as a Run's ``created``: UTC, ``Z``."""
    try:
        stamp = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, TypeError, ValueError):
        raise UserError(f"{source}: pytest-benchmark 'datetime' {_short(value)} is not an ISO "
                        "8601 time (pytest-benchmark writes one; history orders files by it)"
                        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    try:
        return stamp.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    except OverflowError:  # year 1 at a positive offset
        raise UserError(f"{source}: pytest-benchmark 'datetime' {_short(value)} is out of range"
                        ) from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> bool:
    """A finite JSON number a float can hold (not a boolean, not NaN, not 10^400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= 1e308 and math.isfinite(value)


def _result(bench: Any, index: int, source: str, exabench_made: bool) -> Result:
    where = f"{source}: benchmark {index}"
    if not isinstance(bench, dict):
        raise UserError(f"{where} is not an object")
    fullname = bench.get("fullname")
    if not isinstance(fullname, str) or not fullname:
        raise UserError(f"{where} has no 'fullname' string (pytest-benchmark writes the test id "
                        "there)")
    where = f"{source}: benchmark {_short(fullname)}"
    params = bench.get("params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise UserError(f"{where}: 'params' must be an object or null, not {_json_type(params)}")
    try:
        json.dumps(params, sort_keys=True, default=str)  # the series key; must encode
    except (TypeError, ValueError, RecursionError):
        raise UserError(f"{where}: 'params' cannot be used as a key (nested too deeply)") from None
    stats = bench.get("stats")
    if not isinstance(stats, dict):
        raise UserError(f"{where} has no 'stats' object")
    data = stats.get("data")
    if data is None or data == []:
        raise UserError(f"{where} has no raw samples (stats.data), only summary statistics; "
                        f"{NO_SAMPLES_HINT}")
    if not isinstance(data, list):
        raise UserError(f"{where}: stats.data must be a list of times in seconds, "
                        f"not {_json_type(data)}")
    bad = next((i for i, x in enumerate(data) if not _number(x)), None)
    if bad is not None:
        raise UserError(f"{where}: stats.data[{bad}] is {_short(data[bad])}, not a finite "
                        "number of seconds")
    extra = _exabench_extra(bench.get("extra_info"), exabench_made)
    result = make_result(suite=SUITE, name=fullname, params=params, unit=extra["unit"],
                         samples=[float(x) for x in data], metrics=extra["metrics"],
                         telemetry=extra["telemetry"],
                         extra={"group": _text(bench.get("group"))})
    return result


def _exabench_extra(extra_info: Any, exabench_made: bool) -> dict[str, Any]:
    """The unit, derived metrics and telemetry exabench wrote beside the timings: in
    ``extra_info`` of its exporter (``generator: "exabench ... export"``) or in
    ``extra_info["exabench"]`` of its fixture. Other ``extra_info`` is the user's own: unused."""
    extra = extra_info if isinstance(extra_info, dict) else {}
    fixture = extra.get("exabench")
    block = fixture if isinstance(fixture, dict) else extra if exabench_made else {}
    unit = block.get("unit")
    metrics = block.get("metrics")
    metrics = {k: float(v) for k, v in metrics.items() if _number(v)} if isinstance(
        metrics, dict) else {}
    telemetry = block.get("telemetry")
    return {"unit": unit if isinstance(unit, str) and unit else "s", "metrics": metrics,
            "telemetry": telemetry if isinstance(telemetry, dict) and telemetry else None}


def environment(machine_info: Mapping[str, Any]) -> dict[str, Any]:
    """A Run-style ``environment`` from pytest-benchmark's ``machine_info``: the ``host`` it
    describes, and the GPU, software and fingerprint of ``machine_info["exabench"]`` when
    exabench wrote the file; else a fingerprint of :data:`IDENTITY_FIELDS` (sha256, first 16 hex
    digits, as ``bench/env.py`` hashes a Run's)."""
    cpu = machine_info.get("cpu")
    cpu = cpu if isinstance(cpu, dict) else {}
    host = {
        "hostname": _text(machine_info.get("node")),
        "cpu_model": _text(cpu.get("brand_raw")) or _text(machine_info.get("processor")),
        "cpu_cores": cpu.get("count") if _number(cpu.get("count")) else None,
        "machine": _text(machine_info.get("machine")),
        "system": _text(machine_info.get("system")),
        "python_implementation": _text(machine_info.get("python_implementation")),
        "python": _text(machine_info.get("python_version")),
    }
    exabench = machine_info.get("exabench")
    exabench = exabench if isinstance(exabench, dict) else {}
    if isinstance(exabench.get("fingerprint"), str):
        gpus, fields = exabench.get("gpus"), exabench.get("fingerprint_fields")
        software = exabench.get("software")
        gpu = {"count": exabench.get("gpu_count"),
               "devices": [d for d in gpus if isinstance(d, dict)] if isinstance(gpus, list)
               else [],
               **{k: exabench.get(k) for k in EXABENCH_GPU_FIELDS}}
        return {"host": host, "gpu": gpu,
                "software": software if isinstance(software, dict) else {},
                "fingerprint_fields": [f for f in fields if isinstance(f, str)]
                if isinstance(fields, list) else [],
                "fingerprint": exabench["fingerprint"]}
    env: dict[str, Any] = {"host": host, "fingerprint_fields": list(IDENTITY_FIELDS)}
    identity = {field: identity_field(env, field) for field in IDENTITY_FIELDS}
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    env["fingerprint"] = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return env


def exported_fullname(result: Mapping[str, Any]) -> str:
    """The ``fullname`` ``exabench export --format pytest-benchmark`` gives a Run's result
    (``reports/interop.py: benchmark_entry``): ``exabench/<suite>::<name>[<k=v-k=v...>]``."""
    param = "-".join(f"{k}={v}" for k, v in result["params"].items())
    name = f"{result['name']}[{param}]" if param else str(result["name"])
    return f"exabench/{result['suite']}::{name}"


def with_pytest_benchmark_keys(run: Run) -> Run:
    """A copy of ``run`` whose results carry the keys their export would have (suite
    :data:`SUITE`, name :func:`exported_fullname`), so it can be compared with a
    pytest-benchmark file; the samples, stats and metrics are the Run's own."""
    results = [{**r, "suite": SUITE, "name": exported_fullname(r)} for r in run["results"]]
    return {**run, "results": results}  # type: ignore[return-value, typeddict-item]
