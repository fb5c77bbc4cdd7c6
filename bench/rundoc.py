"""The Run document (``schema = "exabench.run/1"``): what every benchmark writes.

Layout (DESIGN.md, "Run document"): ``schema, id, created, exabench_version, commit,
environment, config, results, telemetry``. Each result: ``suite, name, params, unit, samples,
stats, metrics, status, error, telemetry``.

Durability: :class:`RunWriter` rewrites the whole file after every finished result through a
temporary file in the same folder and ``os.replace``, so the file on disk is always a
complete, parseable Run holding every result finished so far, even if the process is killed
part-way (a killed process's writes are already in the kernel's page cache). ``fsync`` of the
file and its folder, which guards against a power loss too, costs ~10 ms on a typical disk, so
it runs at most once a second (:data:`FSYNC_INTERVAL_S`) and always at :meth:`RunWriter.close`:
a power cut loses at most the last second, a killed process nothing. Serialised results are
cached so a rewrite costs one write of the file, not a re-encoding of every result.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exabench import __version__
from exabench.documents import (
    RUN_SCHEMA,
    atomic_write_bytes,
    check_versioned,
    read_json,
    write_hint,
)
from exabench.documents.stats import summarize
from exabench.errors import UserError

SCHEMA = RUN_SCHEMA
STATUSES = ("ok", "failed", "skipped")
REQUIRED_FIELDS = ("schema", "id", "created", "environment", "config", "results")
RESULT_FIELDS = ("suite", "name", "params", "unit", "samples", "stats", "metrics", "status")


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def iso(ts: _dt.datetime) -> str:
    return ts.astimezone(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def source_commit() -> str | None:
    """The git commit of the exabench source tree, when it is a checkout; else None."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


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
) -> dict[str, Any]:
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
    return result


def _json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON; write them as null rather than produce an unreadable file."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_json_safe(value), allow_nan=False, separators=(",", ":"))


FSYNC_INTERVAL_S = 1.0


def atomic_write_text(path: Path, text: str, *, sync: bool = True) -> None:
    """:func:`exabench.documents.atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"), sync=sync)


def run_filename(created: _dt.datetime, host: str, fingerprint: str | None) -> str:
    """``<UTC timestamp>_<host>_<fingerprint prefix>.json``, safe on every filesystem."""
    stamp = created.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe_host = re.sub(r"[^A-Za-z0-9.-]+", "-", host)[:40] or "host"
    return f"{stamp}_{safe_host}_{(fingerprint or 'nofp')[:8]}.json"


JOURNAL_SUFFIX = ".journal"
REWRITE_OVERHEAD = 0.05
ALWAYS_REWRITE_BYTES = 2**20  # below this a rewrite takes about a millisecond: always do it


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + JOURNAL_SUFFIX)


class RunWriter:
    """Builds one Run document and keeps it durable on disk after every result.

    Each finished result is first appended to a JSON-lines journal beside the Run (one small
    write), then the Run itself is rewritten atomically. A rewrite costs time in proportion to
    the file; to keep a sweep of many thousands of tiny results linear rather than quadratic,
    once the results exceed :data:`ALWAYS_REWRITE_BYTES` the rewrite is skipped while the time spent rewriting would exceed 5 %
    (:data:`REWRITE_OVERHEAD`) of the time since the last one: results written in the meantime
    live in the journal, which :func:`load_run` merges. Ordinary runs, whose results each take
    far longer than a rewrite, keep every result in the Run file itself. :meth:`close` writes
    the final Run and removes the journal.

    Memory stays flat over long sweeps: each result is kept once, as its encoded JSON, and
    :attr:`results` holds only a summary of each (:data:`SUMMARY_FIELDS`: no samples, stats or
    telemetry); the complete records are in the file (:func:`load_run`).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        environment: Mapping[str, Any],
        config: Mapping[str, Any],
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        created = utc_now()
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create output folder {out}: {error.strerror or error}") from None
        host = (environment.get("host") or {}).get("hostname") or socket.gethostname()
        self.path = Path(path) if path else out / run_filename(created, host, environment.get("fingerprint"))
        self.doc: dict[str, Any] = {
            "schema": SCHEMA,
            "id": self.path.stem,
            "created": iso(created),
            "exabench_version": __version__,
            "commit": source_commit(),
            "environment": dict(environment),
            "config": dict(config),
            "results": [],
            "telemetry": None,
        }
        self._start([])

    def _start(self, encoded: list[str]) -> None:
        self._encoded = encoded
        self._in_file = len(encoded)  # results the Run file itself holds
        self._bytes = sum(len(e) for e in encoded)
        self._synced_at = 0.0
        self._rewrote_at = 0.0
        self._rewrite_s = 0.0
        self.flush(sync=True)
        self._drop_journal()  # the Run file now holds every result

    @classmethod
    def resume(cls, path: str | os.PathLike[str], doc: dict[str, Any] | None = None) -> RunWriter:
        """Continue writing an existing Run (for ``--resume``): its results, journal included,
        are kept as they are; ``doc`` (the Run as :func:`load_run` read it, edited) is written
        in its place when given."""
        doc = load_run(path) if doc is None else doc
        self = cls.__new__(cls)
        self.path = Path(path)
        self.doc = doc
        encoded = [_dumps(r) for r in doc["results"]]
        doc["results"] = [_summary(r) for r in doc["results"]]
        self._start(encoded)
        return self

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.doc["results"]

    def add(self, result: dict[str, Any]) -> None:
        """Append a finished result; it is on disk (Run or journal) before this returns."""
        index = len(self._encoded)
        self.doc["results"].append(_summary(result))
        encoded = _dumps(result)
        self._encoded.append(encoded)
        self._journal(index, encoded)
        self._bytes += len(encoded)
        if self._bytes <= ALWAYS_REWRITE_BYTES or time.monotonic() - self._rewrote_at >= self._rewrite_s / REWRITE_OVERHEAD:
            self.flush()

    def _journal(self, index: int, encoded: str) -> None:
        try:
            with open(journal_path(self.path), "a", encoding="utf-8") as handle:
                handle.write(f'{{"index":{index},"result":{encoded}}}\n')
        except OSError as error:
            raise UserError(f"cannot write {journal_path(self.path)}: {error.strerror or error}{write_hint(error)}") from None

    def set(self, key: str, value: Any) -> None:
        """Set a top-level field (e.g. the run-wide ``telemetry`` summary) and persist it."""
        self.doc[key] = value
        self.flush()

    def flush(self, *, sync: bool | None = None) -> None:
        """Rewrite the Run with every result; fsync when ``sync`` or the last fsync is a second old."""
        started = time.monotonic()
        head = {k: v for k, v in self.doc.items() if k != "results"}
        # Splice the cached results in as the last key: `{...head..., "results": [r1, r2]}`.
        # Written chunk by chunk: joining them would hold the whole Run twice more in memory.
        def chunks():
            yield (_dumps(head)[:-1] + ',"results":[').encode()
            for i, encoded in enumerate(self._encoded):
                yield (("," if i else "") + encoded).encode()
            yield b"]}\n"

        if sync is None:
            sync = started - self._synced_at >= FSYNC_INTERVAL_S
        atomic_write_bytes(self.path, chunks(), sync=sync)
        self._in_file = len(self._encoded)
        now = time.monotonic()
        self._rewrote_at, self._rewrite_s = now, now - started
        if sync:
            self._synced_at = now

    def close(self) -> None:
        """The final write, synced to the disk; the journal is then redundant and removed."""
        self.flush(sync=True)
        self._drop_journal()

    def _drop_journal(self) -> None:
        try:
            os.unlink(journal_path(self.path))
        except FileNotFoundError:
            pass
        except OSError as error:
            raise UserError(f"cannot remove {journal_path(self.path)}: {error.strerror or error}") from None


SUMMARY_FIELDS = ("suite", "name", "params", "unit", "status", "error", "metrics")
"""What :attr:`RunWriter.results` keeps of each result (tables, footers, exit codes, --resume)."""


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result.get(k) for k in SUMMARY_FIELDS}


def _merge_journal(doc: dict[str, Any], path: Path) -> None:
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
        if isinstance(entry, dict) and entry.get("index") == len(results) and isinstance(entry.get("result"), dict):
            results.append(entry["result"])


def load_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a Run document; any problem is a one-line :class:`UserError` naming the file."""
    path = Path(path)
    doc = read_json(path, missing_hint="; give the path of a Run JSON (exabench bench writes them under --out, default results/)")
    if isinstance(doc, dict):
        _merge_journal(doc, path)
    return check_run(doc, source=str(path))


def check_run(doc: Any, *, source: str = "run") -> dict[str, Any]:
    """Validate the shape of a parsed Run document; returns it unchanged."""
    check_versioned(doc, source=source, kind="Run", schema=SCHEMA, required=REQUIRED_FIELDS)
    if not isinstance(doc["results"], list):
        raise UserError(f"{source}: 'results' must be a list")
    _check_types(doc, TOP_TYPES, source)
    for i, result in enumerate(doc["results"]):
        if not isinstance(result, dict):
            raise UserError(f"{source}: result {i} is not an object")
        lacking = [f for f in RESULT_FIELDS if f not in result]
        if lacking:
            raise UserError(f"{source}: result {i} lacks {', '.join(lacking)}")
        if not isinstance(result["status"], str) or result["status"] not in STATUSES:
            raise UserError(f"{source}: result {i} has status {result['status']!r}; valid: {', '.join(STATUSES)}")
        if not isinstance(result["samples"], list) or not isinstance(result["params"], dict):
            raise UserError(f"{source}: result {i} has malformed samples or params")
        _check_types(result, RESULT_TYPES, f"{source}: result {i}")
        if not all(_is_number(s) for s in result["samples"]):
            raise UserError(f"{source}: result {i} has a sample that is not a number (or beyond 1e308)")
        stats = result["stats"]
        if any(k not in stats for k in STATS_FIELDS):  # stats derive from the samples: fill what is missing
            finite = [x for x in result["samples"] if x is not None and -1e300 < x < 1e300]  # no nan/inf/10^400
            stats = result["stats"] = {**summarize(finite), **stats}
        bad = [k for k in STATS_FIELDS if not _is_number(stats[k])]
        if bad:
            raise UserError(f"{source}: result {i} stats.{bad[0]} is not a number "
                            f"(stats has {', '.join(STATS_FIELDS)}, each a number or null)")
    return doc


STATS_FIELDS = ("n", "median", "q1", "q3", "min", "max", "mean", "cv")


def _is_number(value: Any) -> bool:
    """A JSON number a float can hold, or null (NaN/Infinity literals parse to floats and are
    let through here: the statistics treat them as missing)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= 1e308  # JSON allows 10^400; a float cannot hold it
    return value is None or isinstance(value, float)


# The JSON type of each field readers rely on (None: may be null). Everything that reads a Run
# (compare, history, report, export, plan --hardware) can then trust these shapes.
TOP_TYPES = {"id": (str,), "created": (str,), "environment": (dict,), "config": (dict,),
             "telemetry": (dict, type(None)), "commit": (str, type(None))}
RESULT_TYPES = {"suite": (str,), "name": (str,), "unit": (str,), "stats": (dict,), "metrics": (dict,),
                "error": (str, type(None)), "telemetry": (dict, type(None))}


def _check_types(doc: dict[str, Any], types: dict[str, tuple[type, ...]], where: str) -> None:
    for key, allowed in types.items():
        if key in doc and not isinstance(doc[key], allowed):
            names = " or ".join("null" if t is type(None) else {dict: "an object", str: "a string"}[t] for t in allowed)
            raise UserError(f"{where}: {key!r} must be {names}, not {type(doc[key]).__name__}")
    environment = doc.get("environment")
    if isinstance(environment, dict):
        for key in ("host", "gpu", "software", "cpu"):
            if environment.get(key) is not None and not isinstance(environment[key], dict):
                raise UserError(f"{where}: environment.{key} must be an object, not {type(environment[key]).__name__}")
        if environment.get("fingerprint") is not None and not isinstance(environment["fingerprint"], str):
            raise UserError(f"{where}: environment.fingerprint must be a string, not {type(environment['fingerprint']).__name__}")
