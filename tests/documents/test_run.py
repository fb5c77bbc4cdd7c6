"""The Run document: read and checked into a typed Run, written back byte for byte, refused in
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exabench.bench.writer import RunWriter
from exabench.documents.run import (
    SCHEMA,
    check_run,
    identity_field,
    load_run,
    make_result,
    run_to_json,
)
from exabench.errors import UserError

ENV = {"host": {"hostname": "node-a"}, "fingerprint": "0123456789abcdef"}


def _result(i: int) -> dict:
    return make_result(suite="gemm", name=f"case{i}", params={"m": i}, samples=[1e-3, 2e-3, 3e-3],
                       metrics={"tflops": 1.5})


def test_round_trip(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, ENV, {"quick": True})
    writer.add(_result(1))
    writer.add(_result(2))
    doc = load_run(writer.path)
    assert doc["schema"] == SCHEMA
    assert doc["id"] == writer.path.stem
    assert [r["name"] for r in doc["results"]] == ["case1", "case2"]
    assert doc["results"][0]["stats"]["median"] == 2e-3
    assert doc["results"][0]["samples"] == [1e-3, 2e-3, 3e-3]
    assert doc["created"].endswith("Z")
    assert writer.path.name.endswith("_node-a_01234567.json")


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, ENV, {})
    doc = json.loads(writer.path.read_text())
    doc["schema"] = "exabench.run/2"
    writer.path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=r"exabench.run/2.*not supported"):
        load_run(writer.path)


@pytest.mark.parametrize("text, match", [
    ("{not json", "not valid JSON"),
    ("[]", "not a Run document"),
    ('{"schema": "something/1"}', "not a Run document"),
    ('{"schema": "exabench.run/1"}', "lacks"),
])
def test_bad_files_are_one_line_user_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=match) as info:
        load_run(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_run(tmp_path / "absent.json")


def test_run_to_json_is_the_file_the_writer_wrote(tmp_path: Path) -> None:
    """check_run returns the parsed object itself, and run_to_json gives back the writer's bytes."""
    writer = RunWriter(tmp_path, ENV, {"quick": True})
    writer.add(_result(1))
    writer.add(make_result(suite="s", name="failed", params={}, status="failed", error="boom"))
    writer.close()
    text = writer.path.read_text()
    parsed = json.loads(text)
    run = check_run(parsed, source="x")
    assert run is parsed
    assert run_to_json(run) == text
    assert run_to_json(load_run(writer.path)) == text


def test_missing_stats_are_filled_from_the_samples() -> None:
    result = make_result(suite="s", name="n", params={}, samples=[1.0, 3.0])
    del result["stats"]["median"]
    run = check_run({"schema": SCHEMA, "id": "r", "created": "2025-01-01T00:00:00Z",
                     "environment": {}, "config": {}, "results": [result]})
    assert run["results"][0]["stats"]["median"] == 2.0


OK = make_result(suite="s", name="n", params={})


@pytest.mark.parametrize(("change", "match"), [
    ({"results": {}}, "some.json: results: expected a list, got an object with 0 fields"),
    ({"environment": []}, "some.json: environment: expected an object, got a list of 0"),
    ({"environment": {"gpu": 3}}, "environment.gpu: expected an object or null, got 3"),
    ({"results": [7]}, r"results\[0\]: expected an object, got 7"),
    ({"results": [{"suite": "s"}]}, r"results\[0\]: expected a field 'name'"),
    ({"results": [{**OK, "status": "meh"}]},
     r"results\[0\].status: expected one of ok, failed, skipped, got 'meh'"),
    ({"results": [{**OK, "samples": ["x"]}]},
     r"results\[0\].samples\[0\]: expected a number a float64 holds or null, got 'x'"),
    ({"results": [{**OK, "samples": [1.0, 10**400]}]},
     r"results\[0\].samples\[1\]: expected a number .* got an integer of 401 digits"),
    ({"results": [{**OK, "metrics": 1}]}, r"results\[0\].metrics: expected an object, got 1"),
    ({"results": [{**OK, "stats": {**OK["stats"], "median": "fast"}}]},
     r"results\[0\].stats.median: expected null or a number, got 'fast'"),
    ({"results": [{**OK, "stats": {**OK["stats"], "q1": 1e400}}]},
     r"results\[0\].stats.q1: expected a number a float64 holds"),
])
def test_a_bad_run_is_one_line_naming_the_source(change: dict, match: str) -> None:
    doc = {"schema": SCHEMA, "id": "r", "created": "2025-01-01T00:00:00Z", "environment": {},
           "config": {}, "results": [], **change}
    with pytest.raises(UserError, match=match) as info:
        check_run(doc, source="some.json")
    assert str(info.value).startswith("some.json") and "\n" not in str(info.value)


def test_identity_field_follows_dotted_paths_through_lists() -> None:
    env = {"gpu": {"count": 2, "devices": [{"name": "A"}, {"name": "B"}]}}
    assert identity_field(env, "gpu.count") == 2
    assert identity_field(env, "gpu.devices.name") == ["A", "B"]
    assert identity_field(env, "cpu.model") is None
