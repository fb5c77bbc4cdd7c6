"""Writing a Run document (:mod:`exabench.documents.run`): what every benchmark does.

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
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exabench import __version__
from exabench.documents import atomic_write_bytes, write_hint
from exabench.documents.run import SCHEMA, Result, Run, encode, journal_path, load_run
from exabench.errors import UserError


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


FSYNC_INTERVAL_S = 1.0


def run_filename(created: _dt.datetime, host: str, fingerprint: str | None) -> str:
    """``<UTC timestamp>_<host>_<fingerprint prefix>.json``, safe on every filesystem."""
    stamp = created.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe_host = re.sub(r"[^A-Za-z0-9.-]+", "-", host)[:40] or "host"
    return f"{stamp}_{safe_host}_{(fingerprint or 'nofp')[:8]}.json"


REWRITE_OVERHEAD = 0.05
ALWAYS_REWRITE_BYTES = 2**20  # below this a rewrite takes about a millisecond: always do it


class RunWriter:
    """Builds one Run document and keeps it durable on disk after every result.

    Each finished result is first appended to a JSON-lines journal beside the Run (one small
    write), then the Run itself is rewritten atomically. A rewrite costs time in proportion to
    the file; to keep a sweep of many thousands of tiny results linear rather than quadratic,
    once the results exceed :data:`ALWAYS_REWRITE_BYTES` the rewrite is skipped while the time
    spent rewriting would exceed 5 % (:data:`REWRITE_OVERHEAD`) of the time since the last one:
    results written in the meantime live in the journal, which
    :func:`~exabench.documents.run.load_run` merges. Ordinary runs, whose results each take far
    longer than a rewrite, keep every result in the Run file itself. :meth:`close` writes
    the final Run and removes the journal.

    Memory stays flat over long sweeps: each result is kept once, as its encoded JSON, and
    :attr:`results` holds only a summary of each (:data:`SUMMARY_FIELDS`: no samples, stats or
    telemetry); the complete records are in the file (:func:`~exabench.documents.run.load_run`).
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
            raise UserError(f"cannot create output folder {out}: "
                            f"{error.strerror or error}") from None
        host = (environment.get("host") or {}).get("hostname") or socket.gethostname()
        fingerprint = environment.get("fingerprint")
        self.path = Path(path) if path else out / run_filename(created, host, fingerprint)
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
    def resume(cls, path: str | os.PathLike[str], doc: Run | None = None) -> RunWriter:
        """Continue writing an existing Run (for ``--resume``): its results, journal included,
        are kept as they are; ``doc`` (the Run as :func:`~exabench.documents.run.load_run` read
        it, edited) is written in its place when given."""
        doc = load_run(path) if doc is None else doc
        self = cls.__new__(cls)
        self.path = Path(path)
        self.doc = doc
        encoded = [encode(r) for r in doc["results"]]
        doc["results"] = [_summary(r) for r in doc["results"]]
        self._start(encoded)
        return self

    @property
    def results(self) -> list[dict[str, Any]]:
        return self.doc["results"]

    def add(self, result: Result) -> None:
        """Append a finished result; it is on disk (Run or journal) before this returns."""
        index = len(self._encoded)
        self.doc["results"].append(_summary(result))
        encoded = encode(result)
        self._encoded.append(encoded)
        self._journal(index, encoded)
        self._bytes += len(encoded)
        since = time.monotonic() - self._rewrote_at
        if self._bytes <= ALWAYS_REWRITE_BYTES or since >= self._rewrite_s / REWRITE_OVERHEAD:
            self.flush()

    def _journal(self, index: int, encoded: str) -> None:
        try:
            with open(journal_path(self.path), "a", encoding="utf-8") as handle:
                handle.write(f'{{"index":{index},"result":{encoded}}}\n')
        except OSError as error:
            raise UserError(f"cannot write {journal_path(self.path)}: {error.strerror or error}"
                            f"{write_hint(error)}") from None

    def set(self, key: str, value: Any) -> None:
        """Set a top-level field (e.g. the run-wide ``telemetry`` summary) and persist it."""
        self.doc[key] = value
        self.flush()

    def flush(self, *, sync: bool | None = None) -> None:
        """Rewrite the Run with every result; fsync when ``sync`` or the last fsync is a second
        old."""
        started = time.monotonic()
        head = {k: v for k, v in self.doc.items() if k != "results"}
        # Splice the cached results in as the last key: `{...head..., "results": [r1, r2]}`.
        # Written chunk by chunk: joining them would hold the whole Run twice more in memory.
        def chunks():
            yield (encode(head)[:-1] + ',"results":[').encode()
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
            raise UserError(f"cannot remove {journal_path(self.path)}: "
                            f"{error.strerror or error}") from None


SUMMARY_FIELDS = ("suite", "name", "params", "unit", "status", "error", "metrics")
"""What :attr:`RunWriter.results` keeps of each result (tables, footers, exit codes, --resume)."""


def _summary(result: Result) -> dict[str, Any]:
    return {k: result.get(k) for k in SUMMARY_FIELDS}
