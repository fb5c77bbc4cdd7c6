"""The published Run and Plan schemas: valid JSON Schema, shipped in the package, met by every
document exabench writes, and checked fast enough for a Run of 10^5 samples."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from exabench.cli import main
from exabench.documents.plan import check_plan
from exabench.documents.run import check_run, load_run
from exabench.documents.schema import schema, validate
from exabench.errors import UserError
from exabench.testing.samples import sample_plan, sample_run
from exabench.testing.synthetic_runs import gemm_run

DOCS = Path(__file__).resolve().parents[2] / "docs"


def cli_json(args: list[str]) -> Any:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(args)
        except SystemExit as end:
            assert end.code in (0, None), (args, end.code)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("name", ["run", "plan"])
def test_schemas_are_valid_draft_2020_12_and_documented(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))
    assert f"exabench/documents/schemas/{name}.schema.json" in (DOCS / "run-format.md").read_text()


def _bench(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / args[0]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(["bench", *args, "--quick", "--device", "cpu", "--telemetry-hz", "0",
                  "--out", str(out)])
        except SystemExit as end:
            assert end.code in (0, None), (args, end.code)
    (path,) = out.glob("*.json")
    return path


def _strict(doc: Any, name: str) -> None:
    """The full schema, samples item by item included (what a third-party validator checks)."""
    errors = list(jsonschema.Draft202012Validator(schema(name)).iter_errors(doc))
    assert not errors, [(e.json_path, e.message[:100]) for e in errors[:3]]


@pytest.mark.parametrize("suite", ["gemm", "memory",
                                   pytest.param("collectives", marks=pytest.mark.slow)])
def test_real_runs_meet_the_schema(suite: str, tmp_path: Path) -> None:
    extra = ("--nproc", "2") if suite == "collectives" else ()
    path = _bench(tmp_path, suite, *extra)
    _strict(json.loads(path.read_text()), "run")
    assert load_run(path)["results"]


def test_fixture_runs_meet_the_schema() -> None:
    runs = [sample_run(), sample_run(seed=3, timeline_points=0),
            gemm_run("g", np.random.default_rng(0), results=3, samples=20)]
    for run in runs:
        _strict(json.loads(json.dumps(run)), "run")
        check_run(run, source="fixture")


@pytest.mark.parametrize("args", [
    ["plan", "--model", "llama3-8b", "--gpus", "8"],
    ["plan", "--model", "gpt3-175b", "--cluster", "colossus-100k"],
    ["plan", "--model", "mixtral-8x7b", "--gpus", "64", "--precision", "fp8"],
    ["plan", "--model", "llama3-70b", "--hardware", "a100-sxm", "--gpus", "256", "--tokens", "1T"],
])
def test_real_plans_meet_the_schema(args: list[str]) -> None:
    plan = cli_json([*args, "--format", "json"])
    _strict(plan, "plan")
    check_plan(plan, source="plan")


def test_search_layouts_and_fixture_plans_meet_the_schema() -> None:
    layouts = cli_json(["search", "--model", "llama3-8b", "--gpus", "64", "--format", "json"])
    plans = [*layouts["layouts"], sample_plan(), sample_plan(uncertainty=False, gpus=8)]
    for plan in plans:
        _strict(json.loads(json.dumps(plan)), "plan")


def test_a_plan_on_a_measured_run_meets_the_schema(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps(sample_run()))
    plan = cli_json(["plan", "--model", "llama3-8b", "--gpus", "8", "--hardware", str(run),
                     "--format", "json"])
    _strict(plan, "plan")


def test_a_run_of_100k_samples_loads_fast(tmp_path: Path) -> None:
    """jsonschema alone takes ~4 s on 10^5 samples; the samples are checked in one pass."""
    run = sample_run()
    run["results"][0]["samples"] = [1e-3 + i * 1e-9 for i in range(100_000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(run))
    load_run(path)  # the validator is built once per process
    started = time.perf_counter()
    load_run(path)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(("samples", "where"), [
    ([1.0, None, float("nan"), 3], None),
    ([1.0, "2"], "samples[1]: expected a number a float64 holds or null, got '2'"),
    ([True], "samples[0]: expected a number a float64 holds or null, got true"),
    ([1.0, float("inf")], "samples[1]"),
    ([10**309],
     "samples[0]: expected a number a float64 holds or null, got an integer of 310 digits"),
    ([[1.0]], "samples[0]: expected a number a float64 holds or null, got a list of 1"),
])
def test_samples_are_checked_without_jsonschema(samples: list[Any], where: str | None) -> None:
    run = sample_run()
    run["results"][1]["samples"] = samples
    if where is None:
        validate(run, "run", source="r.json")
        return
    with pytest.raises(UserError) as info:
        validate(run, "run", source="r.json")
    assert str(info.value).startswith(f"r.json: results[1].{where}")
