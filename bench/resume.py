"""``--resume RUN``: continue an interrupted ``bench``/``run`` in the same Run document.

A result is *finished* when its record is in the Run (``ok``, ``failed`` or ``skipped``: a
failure is an outcome, not a gap). Cases are matched to records by suite, name and params (the
identity ``compare`` uses), so a resumed sweep measures only what is missing and appends it to
the same file. The Run's original ``config`` is kept; resuming is refused (one-line
:class:`~exabench.errors.UserError`) when the Run was measured on another machine or software
stack (``environment.fingerprint``) or asked for something else (suites, ``--quick``, device,
options), since its results and the new ones could not stand in one table.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from exabench.bench.writer import RunWriter, iso, utc_now
from exabench.documents.run import load_run
from exabench.errors import UserError

COMPARED = ("suites", "quick", "device", "options")
"""The config fields that must match for two invocations to be one run."""
UNMEASURED_OPTIONS = ("floor",)
"""Options that judge a Run without changing what it measures: a resume may change them."""


def result_key(suite: str, name: str, params: Any) -> str:
    """Canonical identity of a result (JSON-normalised, so tuples and lists compare equal)."""
    return json.dumps([suite, name, params], sort_keys=True, default=str)


def finished_keys(results: Iterable[dict[str, Any]]) -> set[str]:
    return {
        result_key(
            r.get("suite"), r.get("name"), json.loads(json.dumps(r.get("params"), default=str))
        )
        for r in results
    }


def case_key(case: Any) -> str:
    return result_key(case.suite, case.name, json.loads(json.dumps(case.params, default=str)))


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _original_command(config: dict[str, Any], path: str) -> str:
    argv = config.get("argv")
    if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
        return "exabench " + " ".join(shlex.quote(a) for a in [*argv, "--resume", path] if a)
    return f"the options it was started with, plus --resume {path}"


def is_process_failure(result: Any) -> bool:
    """A record of the run's processes failing, not of a case's outcome: the collectives ranks
    that could not be launched, or a case cut off by a rank fault. Resuming runs these again."""
    if (
        not isinstance(result, dict)
        or result.get("status") != "failed"
        or result.get("suite") != "collectives"
    ):
        return False
    return result.get("name") == "launch" or str(result.get("error") or "").startswith("rank fault")


def _set_aside_process_failures(doc: dict[str, Any]) -> dict[str, Any]:
    """Move process-failure records from ``results`` to ``superseded`` (kept in the Run, with
    when and why), so the resumed run measures those cases again and its exit code says how
    the finished Run stands, not how the killed attempt ended."""
    aside = [r for r in doc["results"] if is_process_failure(r)]
    if aside:
        doc["results"] = [r for r in doc["results"] if not is_process_failure(r)]
        superseded = doc.get("superseded") if isinstance(doc.get("superseded"), list) else []
        doc["superseded"] = [
            *superseded,
            *(
                {
                    "at": iso(utc_now()),
                    "why": "set aside by --resume, which measures the case again",
                    "result": r,
                }
                for r in aside
            ),
        ]
    return doc


def open_resumed(path: str, config: dict[str, Any], environment: dict[str, Any]) -> RunWriter:
    """The writer of the interrupted Run at ``path``, checked against this invocation."""
    doc = load_run(path)
    old_fp = (
        (doc.get("environment") or {}).get("fingerprint")
        if isinstance(doc.get("environment"), dict)
        else None
    )
    new_fp = environment.get("fingerprint")
    if old_fp != new_fp:
        raise UserError(
            f"--resume {path}: that Run was measured on another machine or software stack "
            f"(fingerprint {old_fp!r}, this one {new_fp!r}); start a new run without --resume"
        )
    old = doc["config"] if isinstance(doc["config"], dict) else {}
    for key in COMPARED:
        was, now = _normal(old.get(key)), _normal(config.get(key))
        if key == "options" and isinstance(was, dict) and isinstance(now, dict):
            was, now = (
                {k: v for k, v in side.items() if k not in UNMEASURED_OPTIONS}
                for side in (was, now)
            )
        if was == now:
            continue
        what = f"{key} was {was!r}, now {now!r}"
        if isinstance(was, dict) and isinstance(now, dict):
            name = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))[0]
            what = f"option {name} was {was.get(name)!r}, now {now.get(name)!r}"
        raise UserError(
            f"--resume {path}: its {what}; resume with the same options:"
            f" {_original_command(old, path)}"
        )
    doc = _set_aside_process_failures(doc)
    writer = RunWriter.resume(path, doc)
    resumes = writer.doc.setdefault("resumed", [])
    if isinstance(resumes, list):
        resumes.append(iso(utc_now()))
    writer.flush()
    return writer
