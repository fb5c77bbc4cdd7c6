"""``exabench compare`` end to end: exit codes, formats, fingerprints, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exabench.cli import main
from exabench.testing.synthetic_runs import environment, gemm_run


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
    import subprocess
    import sys

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
