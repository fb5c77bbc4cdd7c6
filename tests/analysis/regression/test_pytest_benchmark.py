"""pytest-benchmark JSON read as regression input: keys, samples, machines, refusals, fuzz
(issue 19 defect 5)."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.analysis.regression.comparison import compare_runs, result_key
from exabench.analysis.regression.history import analyse_history, collect_series
from exabench.analysis.regression.pytest_benchmark import (
    SUITE,
    exported_fullname,
    from_pytest_benchmark,
    is_converted,
    read_timings,
    with_pytest_benchmark_keys,
)
from exabench.analysis.regression.stats import Gate
from exabench.documents.stats import summarize
from exabench.errors import UserError
from exabench.reports.interop import to_pytest_benchmark
from exabench.testing.synthetic_runs import gemm_result, gemm_run, noisy, run_doc

FORMATS = ("exabench.run/1", "pytest-benchmark")


def _exported(run: dict) -> dict:
    """The Run as ``exabench export --format pytest-benchmark`` writes it, through JSON."""
    return json.loads(json.dumps(to_pytest_benchmark(run)))


def _foreign(data: list[float] | None, *, node: str = "ci-1", extra: dict | None = None) -> dict:
    """A document as pytest-benchmark itself writes it (no exabench block)."""
    stats: dict[str, Any] = {"min": 1.0, "max": 2.0, "mean": 1.5, "median": 1.5, "rounds": 3}
    if data is not None:
        stats["data"] = data
    return {
        "machine_info": {"node": node, "processor": "x86_64", "machine": "x86_64",
                         "python_implementation": "CPython", "python_version": "3.11.7",
                         "system": "Linux", "release": "6.1", "cpu": {"brand_raw": "Xeon"}},
        "commit_info": {"id": "abc123", "dirty": False},
        "benchmarks": [{"group": None, "name": "test_sum[100]",
                        "fullname": "tests/test_x.py::test_sum[100]", "params": {"n": 100},
                        "param": "100", "extra_info": extra or {}, "options": {}, "stats": stats}],
        "datetime": "2025-03-01T12:00:00.250000",
        "version": "5.1.0",
    }


def test_each_benchmark_is_a_result_keyed_by_fullname_and_params() -> None:
    run = gemm_run("r", np.random.default_rng(0), results=2, samples=9)
    doc = from_pytest_benchmark(_exported(run), source="pb.json", name="pb")
    assert is_converted(doc) and doc["id"] == "pb" and doc["created"] == run["created"]
    assert doc["environment"]["fingerprint"] == run["environment"]["fingerprint"]
    for result, original in zip(doc["results"], run["results"], strict=True):
        assert result["suite"] == SUITE and result["name"] == exported_fullname(original)
        assert result["params"] == original["params"] and result["unit"] == "s"
        assert result["samples"] == original["samples"]
        assert result["stats"] == summarize(original["samples"])
        assert result["metrics"]["tflops"] == pytest.approx(original["metrics"]["tflops"])


def test_a_run_renamed_for_export_matches_its_export_key_for_key() -> None:
    rng = np.random.default_rng(1)
    run = run_doc("r", [gemm_result(256, noisy(rng, 1e-3, 0.01, 5)),
                        {**gemm_result(512, noisy(rng, 1e-3, 0.01, 5)), "params": {}}])
    converted = from_pytest_benchmark(_exported(run), source="pb.json", name="pb")
    renamed = with_pytest_benchmark_keys(run)
    assert [result_key(r) for r in renamed["results"]] == [
        result_key(r) for r in converted["results"]]
    assert run["results"][0]["suite"] == "gemm"  # the Run itself is left as it was


def test_foreign_file_machine_and_times() -> None:
    doc = from_pytest_benchmark(_foreign([1e-6, 2e-6, 3e-6]), source="a.json", name="a")
    (result,) = doc["results"]
    assert result["name"] == "tests/test_x.py::test_sum[100]" and result["params"] == {"n": 100}
    assert result["stats"]["median"] == pytest.approx(2e-6) and result["metrics"] == {}
    assert doc["created"] == "2025-03-01T12:00:00.250000Z" and doc["commit"] == "abc123"
    env = doc["environment"]
    assert env["host"]["cpu_model"] == "Xeon" and len(env["fingerprint"]) == 16
    # the host name is not part of the identity; the CPU is
    same = from_pytest_benchmark(_foreign([1e-6], node="ci-2"), source="b.json", name="b")
    assert same["environment"]["fingerprint"] == env["fingerprint"]
    other = _foreign([1e-6])
    other["machine_info"]["cpu"]["brand_raw"] = "EPYC"
    assert from_pytest_benchmark(other, source="c", name="c")["environment"]["fingerprint"] != (
        env["fingerprint"])


def test_a_users_own_extra_info_is_not_read_as_exabench_metrics() -> None:
    doc = _foreign([1e-6, 2e-6], extra={"unit": "ms", "metrics": {"tflops": 3.0}})
    (result,) = from_pytest_benchmark(doc, source="a.json", name="a")["results"]
    assert result["unit"] == "s" and result["metrics"] == {}


def test_a_file_without_raw_samples_is_refused_with_the_way_to_get_them() -> None:
    for data in (None, []):
        with pytest.raises(UserError) as info:
            from_pytest_benchmark(_foreign(data), source="saved.json", name="saved")
        message = info.value.message
        assert message.startswith("saved.json: benchmark 'tests/test_x.py::test_sum[100]'")
        assert "no raw samples (stats.data)" in message and "--benchmark-save-data" in message


@pytest.mark.parametrize("doc,what", [
    ({"a": 1}, "without 'schema' or 'benchmarks'"),
    ([], "a JSON array"),
    (None, "a JSON null"),
    (3.5, "a JSON number"),
    ({"schema": "exabench.plan/1"}, "schema 'exabench.plan/1'"),
    ({"schema": None, "benchmarks": []}, "schema None"),
])
def test_an_unknown_document_names_the_file_and_the_formats(doc: Any, what: str) -> None:
    with pytest.raises(UserError) as info:
        read_timings(doc, source="x.json", name="x")
    message = info.value.message
    assert message.startswith("x.json: ") and what in message
    assert all(f in message for f in FORMATS)


def test_a_run_is_still_checked_as_a_run() -> None:
    run = gemm_run("r", np.random.default_rng(0), results=1, samples=3)
    assert read_timings(copy.deepcopy(run), source="r.json", name="r")["id"] == "r"
    with pytest.raises(UserError, match="exabench.run/9"):
        read_timings({**run, "schema": "exabench.run/9"}, source="r.json", name="r")


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(benchmarks={}), "'benchmarks' must be a list"),
    (lambda d: d.update(benchmarks=[]), "holds no benchmarks"),
    (lambda d: d["benchmarks"][0].pop("fullname"), "no 'fullname'"),
    (lambda d: d["benchmarks"][0].update(params=[1]), "'params' must be an object or null"),
    (lambda d: d["benchmarks"][0]["stats"].update(data=[1e-6, "x"]), "stats.data[1] is 'x'"),
    (lambda d: d["benchmarks"][0]["stats"].update(data=[True]), "stats.data[0] is True"),
    (lambda d: d["benchmarks"][0].update(stats=None), "no 'stats' object"),
    (lambda d: d.update(datetime="yesterday"), "'datetime' 'yesterday' is not an ISO 8601"),
    (lambda d: d.pop("datetime"), "'datetime' None"),
])
def test_malformed_files_are_one_line_errors(mutate: Any, message: str) -> None:
    doc = _foreign([1e-6, 2e-6])
    mutate(doc)
    with pytest.raises(UserError) as info:
        read_timings(doc, source="bad.json", name="bad")
    assert info.value.message.startswith("bad.json: ") and message in info.value.message


def test_planted_slowdown_in_pytest_benchmark_form_is_regressed() -> None:
    rng = np.random.default_rng(2)
    base = from_pytest_benchmark(_exported(gemm_run("b", rng, results=2, samples=20)),
                                 source="b.json", name="b")
    new = from_pytest_benchmark(_exported(gemm_run("n", rng, results=2, samples=20,
                                                   slowdown=1.10)), source="n.json", name="n")
    doc = compare_runs(base, new, gate=Gate())
    assert doc["verdict"] == "regressed" and doc["counts"]["regressed"] == 4
    assert {r["suite"] for r in doc["results"]} == {SUITE}
    assert [r["metric"] for r in doc["results"][:2]] == ["time", "tflops"]


def test_history_of_pytest_benchmark_files_finds_the_step() -> None:
    rng = np.random.default_rng(3)
    docs = []
    for i in range(24):
        run = run_doc(f"run{i}", [gemm_result(512, noisy(rng, 1e-3 * (1.06 if i >= 16 else 1),
                                                         0.01, 10))],
                      created=f"2025-02-01T{i:02d}:00:00Z")
        docs.append(from_pytest_benchmark(_exported(run), source=f"{i:04d}.json",
                                          name=f"{i:04d}"))
    doc = analyse_history(docs, permutations=199)
    time_series = doc["series"][0]
    assert time_series["suite"] == SUITE and time_series["metric"] == "time"
    assert [cp["run_id"] for cp in time_series["change_points"]] == ["0016"]


# --- fuzz: never anything but a converted document or a one-line UserError -------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=8), st.just(10**400), st.just("2025-01-01T00:00:00Z"))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
KEYS = st.sampled_from(["benchmarks", "schema", "machine_info", "datetime", "stats", "data",
                        "fullname", "params", "extra_info", "exabench", "generator", "x"])
OBJECTS = st.dictionaries(st.one_of(KEYS, st.text(max_size=6)), JSON, max_size=6)


@st.composite
def pytest_benchmark_like(draw: Any) -> dict[str, Any]:
    """A pytest-benchmark-shaped document with any value in any slot (one slot in five)."""
    def slot(valid: Any) -> Any:
        return draw(JSON) if draw(st.integers(0, 4)) == 0 else valid

    data = slot(draw(st.lists(st.floats(min_value=1e-9, max_value=1.0), min_size=1,
                              max_size=12)))
    bench = {"fullname": slot("t.py::test_a"), "params": slot({"n": 1}),
             "stats": slot({"data": data}), "extra_info": slot({"unit": "s"}),
             "group": slot(None)}
    return {"benchmarks": slot([bench, slot(bench)]),
            "machine_info": slot({"cpu": slot({"brand_raw": "x"}),
                                  "exabench": slot({"fingerprint": "f", "gpus": slot([])})}),
            "datetime": slot("2025-01-01T00:00:00"), "commit_info": slot({"id": "a"}),
            "generator": slot("exabench 0.1.0 export")}


def _read(doc: Any) -> dict | None:
    try:
        return read_timings(doc, source="f.json", name="f")
    except UserError as error:
        assert "\n" not in error.message and error.message.startswith("f.json")
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(JSON, OBJECTS))
def test_arbitrary_json_is_refused_in_one_line(doc: Any) -> None:
    converted = _read(doc)
    assert converted is None or is_converted(converted)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=pytest_benchmark_like())
def test_any_pytest_benchmark_shape_converts_or_is_refused(doc: dict) -> None:
    converted = _read(doc)
    if converted is not None:
        assert compare_runs(converted, converted, gate=Gate(resamples=100))["verdict"]
        assert collect_series([converted])
