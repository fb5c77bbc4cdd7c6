"""``exabench compare`` end to end: exit codes, formats, fingerprints, bad input."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.cli import main
from exabench.testing.synthetic_runs import environment, gemm_result, gemm_run, noisy


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def write(path: Path, doc: dict) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def pair(tmp_path: Path, slowdown: float = 1.0, samples: int = 20, base_env: dict | None = None,
         new_env: dict | None = None) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    base = gemm_run("base", rng, results=3, samples=samples)
    new = gemm_run("new", rng, results=3, samples=samples, slowdown=slowdown)
    if base_env:
        base["environment"] = base_env
    if new_env:
        new["environment"] = new_env
    return write(tmp_path / "base.json", base), write(tmp_path / "new.json", new)


@pytest.mark.parametrize(
    "slowdown,samples,code,verdict",
    [
        (1.0, 20, 0, "unchanged"),
        (0.8, 20, 0, "improved"),
        (1.10, 20, 1, "regressed"),
        (1.10, 3, 3, "inconclusive"),
    ],
)
def test_exit_codes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    slowdown: float,
    samples: int,
    code: int,
    verdict: str,
) -> None:
    base, new = pair(tmp_path, slowdown, samples)
    status, out, err = run_main(["compare", base, new, "--format", "json"], capsys)
    assert status == code, err
    assert json.loads(out)["verdict"] == verdict


def test_table_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, new = pair(tmp_path, 1.10)
    status, out, _ = run_main(["compare", base, new], capsys)
    assert status == 1 and "REGRESSED" in out and "# Verdict: REGRESSED" in out and "99% CI" in out
    status, out, _ = run_main(["compare", base, new, "--format", "markdown"], capsys)
    assert status == 1 and out.startswith("### exabench compare: :x: regression")
    assert "| 🔴 regressed | `gemm/gemm_bf16 m=256" in out


def test_threshold_and_thresholds_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, new = pair(tmp_path, 1.10)
    status, out, _ = run_main(
        ["compare", base, new, "--threshold", "20", "--format", "json"], capsys
    )
    assert status == 0 and json.loads(out)["threshold_pct"] == 20
    toml = tmp_path / "t.toml"
    toml.write_text('threshold = 20\n[[override]]\nparams = { m = 256 }\nthreshold = 5\n')
    status, out, _ = run_main(
        ["compare", base, new, "--thresholds", str(toml), "--format", "json"], capsys
    )
    rows = json.loads(out)["results"]
    assert status == 1
    assert {r["params"]["m"] for r in rows if r["verdict"] == "regressed"} == {256}


def test_different_fingerprints_are_refused_naming_the_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = pair(tmp_path, base_env=environment("fp-a"),
                     new_env=environment("fp-b", gpu="NVIDIA A100-SXM4-80GB", driver="535.1"))
    status, out, err = run_main(["compare", base, new], capsys)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "gpu.devices.name" in err and "gpu.driver" in err and "--force" in err
    status, out, _ = run_main(["compare", base, new, "--force"], capsys)
    assert status == 0 and "WARNING: different fingerprints" in out


def _corrupt(tmp_path: Path) -> list[str]:
    (tmp_path / "bad.json").write_text("{not json")
    return [str(tmp_path / "bad.json")]


def _future(tmp_path: Path) -> list[str]:
    doc = gemm_run("x", np.random.default_rng(0), results=1, samples=5)
    doc["schema"] = "exabench.run/9"
    return [write(tmp_path / "future.json", doc)]


def _disjoint(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    other = gemm_run("other", rng, results=2, samples=5)
    for result in other["results"]:
        result["params"]["dtype"] = "fp8"
    return [write(tmp_path / "other.json", other)]


@pytest.mark.parametrize(
    "make,message",
    [
        (_corrupt, "not valid JSON"),
        (_future, "exabench.run/9"),
        (_disjoint, "no benchmark in common"),
        (lambda p: [str(p / "missing.json")], "no such file"),
        (lambda p: [str(p)], "is a folder"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str
) -> None:
    base, _ = pair(tmp_path)
    (new,) = make(tmp_path)
    status, out, err = run_main(["compare", base, new], capsys)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_bad_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, new = pair(tmp_path)
    assert run_main(["compare", base, new, "--alpha", "2"], capsys)[0] == 2
    bad = tmp_path / "t.toml"
    bad.write_text("thresold = 5\n")
    status, _, err = run_main(["compare", base, new, "--thresholds", str(bad)], capsys)
    assert status == 2 and "unknown key 'thresold'" in err


def test_compare_runs_without_torch_scipy_or_altair(tmp_path: Path) -> None:
    """compare runs where torch is absent (and it needs neither scipy nor altair)."""
    base, new = pair(tmp_path, 1.10)
    code = (
        "import sys; sys.modules.update(torch=None, scipy=None, altair=None); "
        f"from exabench.cli import main; main(['compare', {base!r}, {new!r}, '--format', 'json'])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "regressed"


@pytest.mark.parametrize("samples", [600, 5000])
@pytest.mark.parametrize("slowdown,code,verdict", [(1.0, 0, "unchanged"), (1.10, 1, "regressed")])
def test_many_samples_a_side_give_a_verdict_not_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    samples: int,
    slowdown: float,
    code: int,
    verdict: str,
) -> None:
    """Issue 19 defect 1: from 515 samples a side ``compare`` died of an OverflowError (exit 1,
    the regression code). Now a verdict, with exit 0/1/3 only."""
    base, new = pair(tmp_path, slowdown, samples)
    status, out, err = run_main(["compare", base, new, "--format", "json"], capsys)
    assert "Traceback" not in err and "Error" not in err, err
    assert status == code, err
    doc = json.loads(out)
    assert doc["verdict"] == verdict
    times = [row for row in doc["results"] if row["metric"] == "time"]
    assert len(times) == 3 and all(row["verdict"] == verdict for row in times)
    assert all(0.0 <= row["p_value"] <= 1.0 for row in times)


# --- pytest-benchmark JSON as input (issue 19 defect 5) --------------------------------------

FORMATS = ("exabench.run/1", "pytest-benchmark")


def cli_run(args: list[str]) -> tuple[int, str, str]:
    """The CLI in-process without pytest's capture (for hypothesis); any exception other than
    SystemExit is a traceback a user would see."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def export(run: str, out: Path) -> str:
    code, _, err = cli_run(["export", run, "--format", "pytest-benchmark", "--out", str(out)])
    assert code == 0, err
    return str(out)


def written_run(folder: Path, slowdown: float = 1.0, seed: int = 0) -> str:
    """A Run as exabench writes one (RunWriter, this machine's environment), with GEMM samples
    of 1 % noise: the timing noise of a real machine would make the verdicts a coin toss."""
    from exabench.bench.env import capture
    from exabench.bench.writer import RunWriter

    rng = np.random.default_rng(seed)
    writer = RunWriter(folder, capture(), {"suites": ["gemm"], "device": "cpu"})
    for size in (256, 512):
        writer.add(gemm_result(size, noisy(rng, 2 * size**3 / 1e12 * slowdown, 0.01, 20)))
    writer.add(gemm_result(1024, [], status="failed"))
    writer.close()
    return str(writer.path)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    return written_run(tmp_path_factory.mktemp("real"))


def test_pytest_benchmark_export_round_trip_is_unchanged(real_run: str, tmp_path: Path) -> None:
    """A Run, exported with ``exabench export --format pytest-benchmark`` and compared with
    itself in every order: unchanged, exit 0, the same machine (no --force)."""
    exported = export(real_run, tmp_path / "pb.json")
    for base, new in ((real_run, exported), (exported, real_run), (exported, exported)):
        status, out, err = cli_run(["compare", base, new, "--format", "json"])
        assert status == 0, err
        doc = json.loads(out)
        assert doc["verdict"] == "unchanged" and doc["fingerprint_differences"] == []
        assert [r["metric"] for r in doc["results"]] == ["time", "tflops"] * 2
        assert all(r["ratio"] == 1.0 and r["suite"] == "pytest-benchmark" for r in doc["results"])
        assert doc["results"][0]["name"].startswith("exabench/gemm::gemm_bf16[m=256-n=256")


def test_a_bench_run_and_its_export_compare_exactly_as_the_run_with_itself(
    tmp_path: Path,
) -> None:
    """A Run from ``exabench bench`` on this CPU (noisy: whatever the verdicts, the export
    must give the same rows as the Run itself)."""
    pytest.importorskip("torch")
    code, _, err = cli_run(["bench", "gemm", "--quick", "--device", "cpu", "--sizes", "64,96",
                            "--dtype", "fp32", "--out", str(tmp_path / "runs")])
    assert code == 0, err
    (run,) = (str(p) for p in (tmp_path / "runs").glob("*.json"))
    exported = export(run, tmp_path / "pb.json")
    fields = ("metric", "base", "new", "ratio", "ci", "p_value", "verdict", "reason")
    outcomes = []
    for new in (run, exported):
        status, out, err = cli_run(["compare", run, new, "--format", "json"])
        rows = json.loads(out)["results"]
        outcomes.append((status, [tuple(json.dumps(row[f]) for f in fields) for row in rows]))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] in (0, 3)


@pytest.mark.parametrize("mixed", [False, True])
def test_planted_slowdown_in_pytest_benchmark_form_exits_1(tmp_path: Path, mixed: bool) -> None:
    base, new = pair(tmp_path, 1.10)
    new_pb = export(new, tmp_path / "new.pb.json")
    base_in = base if mixed else export(base, tmp_path / "base.pb.json")
    status, out, err = cli_run(["compare", base_in, new_pb, "--format", "json"])
    assert status == 1, err
    doc = json.loads(out)
    assert doc["verdict"] == "regressed" and doc["counts"]["regressed"] == 6
    assert all(r["ratio"] == pytest.approx(1.10, rel=0.03) for r in doc["results"]
               if r["metric"] == "time")
    status, out, _ = cli_run(["compare", base_in, new_pb, "--format", "markdown"])
    assert status == 1 and "regressed | `pytest-benchmark/exabench/gemm::gemm_bf16" in out


def test_pytest_benchmark_file_without_raw_samples_is_one_line_exit_2(tmp_path: Path) -> None:
    base, _ = pair(tmp_path)
    saved = Path(export(base, tmp_path / "saved.json"))
    doc = json.loads(saved.read_text())
    for bench in doc["benchmarks"]:
        del bench["stats"]["data"]  # what --benchmark-save writes without --benchmark-save-data
    saved.write_text(json.dumps(doc))
    for args in ([base, str(saved)], [str(saved), str(saved)]):
        status, out, err = cli_run(["compare", *args])
        assert status == 2 and out == "" and err.count("\n") == 1, err
        assert err.startswith(f"error: {saved}: benchmark 'exabench/gemm::gemm_bf16[m=256")
        assert "no raw samples (stats.data)" in err and "--benchmark-save-data" in err


@pytest.mark.parametrize("doc,what", [
    ({"results": []}, "a JSON object without 'schema' or 'benchmarks'"),
    ([1, 2], "a JSON array"),
    ({"schema": "exabench.plan/1", "inputs": {}}, "a document of schema 'exabench.plan/1'"),
])
def test_an_unknown_document_names_the_file_and_the_formats(
    tmp_path: Path, doc: object, what: str
) -> None:
    base, _ = pair(tmp_path)
    other = write(tmp_path / "other.json", doc)  # type: ignore[arg-type]
    status, out, err = cli_run(["compare", base, other])
    assert status == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"error: {other}: {what}") and all(f in err for f in FORMATS)
    assert "schema None" not in err


def test_a_run_and_an_unrelated_pytest_benchmark_file_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    base, new = pair(tmp_path)
    foreign = json.loads(Path(export(new, tmp_path / "pb.json")).read_text())
    for bench in foreign["benchmarks"]:
        bench["fullname"] = "tests/test_gemm.py::" + bench["name"]  # a pytest test id instead
    status, out, err = cli_run(["compare", base, write(tmp_path / "foreign.json", foreign)])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "no benchmark in common" in err


PYTEST_BENCHMARK_TESTS = '''
import pytest

@pytest.mark.parametrize("n", [100, 1000])
def test_sum(benchmark, n):
    benchmark.pedantic(sum, args=(range(n),), rounds=20, iterations=10)

def test_gemm(gpu_benchmark):
    pytest.importorskip("torch")
    from exabench.bench.gemm.cases import GemmCase
    gpu_benchmark(GemmCase(64, 64, 64, "fp32"), device="cpu", warmup_ms=1, rep_ms=2)
'''


def test_files_written_by_pytest_benchmark_and_the_exabench_fixture(tmp_path: Path) -> None:
    """pytest-benchmark's own output, as a user's pytest writes it: ``--benchmark-json`` (raw
    timings kept) compares; ``--benchmark-autosave`` without ``--benchmark-save-data`` is
    refused in one line."""
    pytest.importorskip("pytest_benchmark")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_pb.py").write_text(PYTEST_BENCHMARK_TESTS)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "exabench.bench.pytest_plugin", "--benchmark-json=full.json", "--benchmark-autosave",
         "--benchmark-storage=file://store"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    full = str(tmp_path / "full.json")
    status, out, err = cli_run(["compare", full, full, "--format", "json"])
    assert status == 0, err
    rows = json.loads(out)["results"]
    names = {(r["name"], json.dumps(r["params"])) for r in rows}
    assert {("test_pb.py::test_sum[100]", '{"n": 100}'),
            ("test_pb.py::test_sum[1000]", '{"n": 1000}')} <= names
    if importlib.util.find_spec("torch") is not None:  # the exabench fixture ran its GEMM
        gemm = [r["metric"] for r in rows if r["name"] == "test_pb.py::test_gemm"]
        assert gemm == ["time", "tflops"]  # its metrics come along from extra_info
    (saved,) = (tmp_path / "store").rglob("*.json")
    status, out, err = cli_run(["compare", str(saved), full])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "no raw samples" in err and "--benchmark-save-data" in err


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)
JSON_OBJECTS = st.dictionaries(
    st.one_of(st.sampled_from(["benchmarks", "schema", "machine_info", "datetime", "results"]),
              st.text(max_size=6)),
    JSON_VALUES, max_size=5)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=JSON_OBJECTS)
def test_arbitrary_json_objects_never_give_a_traceback(tmp_path: Path, doc: dict) -> None:
    base, _ = pair(tmp_path)
    other = write(tmp_path / "any.json", doc)
    for args in ([base, other], [other, base], [other, other]):
        status, out, err = cli_run(["compare", *args])
        assert status == 2 and out == "" and err.count("\n") == 1, (doc, err)
        assert err.startswith(f"error: {other}") and "Traceback" not in err
