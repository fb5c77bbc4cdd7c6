"""Real Runs and Plans, mutated, through every reader: a result or exit 2 with one line.

Seeds: a GEMM Run and a memory Run measured here (``bench --quick --device cpu``), the sample
Run of the test fixtures (GPU environment, telemetry timeline, collectives with per-rank
samples), and the Plans of ``plan --format json`` (dense and mixture-of-experts). Each case
applies 1 to 3 mutations at random paths: delete a key, a wrong type, null, NaN, Infinity, a
huge number (1e308, 10^400), nested junk or an unknown key; the file is written with Python's
json (NaN and Infinity literals included) and one reader runs on it in-process:
``compare``, ``history``, ``report --no-images``, ``export --format pytest-benchmark`` and
``bencher``, ``plan --hardware RUN`` for Runs; ``report`` for Plans.

The outcome must be exit 0, 1 or 3, or exit 2 with exactly one line on stderr; any other
exception fails the test with its traceback. ``quick`` runs 500 cases (derandomized: 24 s, with
6 s to measure the seeds, on 2 cores); the ``slow`` variant runs 3,000 (about 2.5 min).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.cli import main
from exabench.testing.samples import sample_run

QUICK, FULL = 500, 3000
PLAN_ARGS = ["--gpus", "8", "--tp", "1", "--pp", "1", "--dp", "8", "--mbs", "1"]


def cli_run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return code, out.getvalue(), err.getvalue()


# --- seeds --------------------------------------------------------------------------------------

def _bench(folder: Path, suite: str) -> dict[str, Any]:
    out = folder / suite
    code, _, err = cli_run(["bench", suite, "--quick", "--device", "cpu", "--telemetry-hz", "0",
                            "--out", str(out)])
    assert code == 0, err
    (path,) = out.glob("*.json")
    doc = json.loads(path.read_text())
    for result in doc["results"]:  # a few samples suffice, and keep every case fast
        result["samples"] = result["samples"][:8]
    doc["results"] = doc["results"][:6]
    return doc


def _plan(model: str, *args: str) -> dict[str, Any]:
    code, out, err = cli_run(["plan", "--model", model, *args, "--format", "json"])
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("seeds")
    small = sample_run(gemm_sizes=(1024, 2048), timeline_points=8)
    for result in small["results"]:
        result["samples"] = result["samples"][:8]
    runs = [_bench(folder, "gemm"), _bench(folder, "memory"), json.loads(json.dumps(small))]
    plans = [_plan("llama3-8b", *PLAN_ARGS),
             _plan("mixtral-8x7b", "--gpus", "64", "--tokens", "1T")]
    return {"run": runs, "plan": plans}


# --- mutations ----------------------------------------------------------------------------------

JUNK = st.sampled_from([
    None, math.nan, math.inf, -math.inf, 1e308, -1e308, 10**400, -(10**400), 0, -1, True, "",
    "fast", "ünïcødé 🚀", [], {}, [None], [1, "x", None], {"a": {"b": [math.nan]}},
    {"median": "x"}, [[[]]], 2**63,
])


def junk(draw: st.DrawFn) -> Any:
    """A fresh copy: the same list inserted twice could end up inside itself."""
    return copy.deepcopy(draw(JUNK))


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``node`` (the first three items of a list only: samples are long)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node[:3]):
            found += paths(child, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        candidates = [p for p in paths(doc) if p != ("schema",)]
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "replace", "replace", "replace", "add"]))
        if action == "delete":
            parent.pop(key)
        elif action == "replace":
            parent[key] = junk(draw)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["junk", "ünï", "0"]))] = junk(draw)
        else:
            parent.insert(key, junk(draw))
    return doc


def run_readers(path: Path, folder: Path) -> list[list[str]]:
    return [
        ["compare", str(folder / "base.json"), str(path), "--format", "json"],
        ["history", str(folder), "--format", "json", "--permutations", "99"],
        ["report", str(path), "--out", str(folder.parent / "report"), "--no-images"],
        ["export", str(path), "--format", "pytest-benchmark",
         "--out", str(folder.parent / "bm.json")],
        ["export", str(path), "--format", "bencher"],
        ["plan", "--model", "llama3-8b", "--hardware", str(path), *PLAN_ARGS, "--format", "json"],
    ]


def assert_clean(args: list[str]) -> int:
    code, _out, err = cli_run(args)
    assert code in (0, 1, 2, 3), (args, code, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
    assert "Traceback" not in err, (args, err)
    return code


# --- the test -----------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", ["quick", pytest.param("full", marks=pytest.mark.slow)])
def test_mutated_documents_never_crash_a_reader(
    scale: str, seeds: dict[str, list[dict[str, Any]]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    folder.mkdir()
    run_path, plan_path = folder / "run.json", tmp_path / "plan.json"
    readers = run_readers(run_path, folder)
    codes: dict[str, int] = {}
    count = QUICK if scale == "quick" else FULL

    def seeded(kind: str) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
        return st.sampled_from(seeds[kind]).flatmap(lambda s: st.tuples(st.just(s), mutated(s)))

    cases = st.one_of(
        st.tuples(st.just("run"), seeded("run"), st.integers(0, len(readers) - 1)),
        st.tuples(st.just("plan"), seeded("plan"), st.just(0)),
    )

    @settings(max_examples=count, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def prop(case: tuple[str, tuple[dict[str, Any], dict[str, Any]], int]) -> None:
        kind, (seed, doc), which = case
        if kind == "run":  # beside the unmutated Run: compare has a base, history a series
            (folder / "base.json").write_text(json.dumps(seed), encoding="utf-8")
            run_path.write_text(json.dumps(doc), encoding="utf-8")
            args = readers[which]
        else:
            plan_path.write_text(json.dumps(doc), encoding="utf-8")
            args = ["report", str(plan_path), "--out", str(tmp_path / "plan-report"),
                    "--no-images"]
        code = assert_clean(args)
        key = f"{kind}:{args[0]}{':' + args[3] if args[0] == 'export' else ''}:{code}"
        codes[key] = codes.get(key, 0) + 1

    started = time.perf_counter()
    prop()
    print(f"\ndocument fuzz ({scale}): {sum(codes.values())} cases in "
          f"{time.perf_counter() - started:.1f} s: {dict(sorted(codes.items()))}")
    assert sum(codes.values()) >= count * 0.9
    # Both outcomes happen: documents a reader accepts, and documents it refuses in one line.
    assert any(k.endswith(":2") for k in codes) and any(k.endswith(":0") for k in codes)


@pytest.mark.parametrize(("kind", "change", "expected"), [
    ("run", lambda d: d["results"][0]["stats"].update(median="fast"),
     "results[0].stats.median: expected null or a number, got 'fast'"),
    ("run", lambda d: d["results"][1].update(metrics=7),
     "results[1].metrics: expected an object, got 7"),
    ("run", lambda d: d["results"][0]["samples"].__setitem__(1, 10**400),
     "results[0].samples[1]: expected a number a float64 holds or null, got an integer of 401"),
    ("run", lambda d: d["environment"].update(gpu=[1]),
     "environment.gpu: expected an object or null, got a list of 1"),
    ("run", lambda d: d["results"][2].pop("status"),
     "results[2]: expected a field 'status'"),
    ("plan", lambda d: d["memory"].update(fits="yes"),
     "memory.fits: expected true or false, got 'yes'"),
    ("plan", lambda d: d["breakdown_s"].update(compute=None, bubble="x"),
     "breakdown_s.bubble: expected null or a number, got 'x'"),
    ("plan", lambda d: d["inputs"].update(layout=None),
     "inputs.layout: expected an object, got null"),
])
def test_every_reader_names_the_file_the_path_and_what_was_expected(
    kind: str, change: Any, expected: str, seeds: dict[str, list[dict[str, Any]]],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    folder.mkdir()
    doc = json.loads(json.dumps(seeds[kind][0]))
    change(doc)
    path = folder / f"{kind}.json"
    (folder / "base.json").write_text(json.dumps(seeds[kind][0]))
    path.write_text(json.dumps(doc))
    if kind == "run":
        readers = run_readers(path, folder)
    else:
        readers = [["report", str(path), "--out", str(tmp_path / "report"), "--no-images"]]
    for args in readers:
        code, _, err = cli_run(args)
        assert code == 2 and err.count("\n") == 1, (args, code, err)
        assert err.startswith(f"error: {path}: {expected}"), (args, err)
