from __future__ import annotations

import json

import pytest

from exabench.cli import main

CAPTURE = None


@pytest.fixture(autouse=True)
def _capture(capsys):
    global CAPTURE
    CAPTURE = capsys
    yield


def run(*args: str) -> tuple[int, str, str]:
    """Through exabench.cli.main, as a user runs it (UserError -> exit 2 and one line)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = CAPTURE.readouterr()
    return exit_.value.code or 0, out, err


def test_scale_json_and_csv() -> None:
    code, out, _ = run(
        "scale",
        "--model",
        "llama3-8b",
        "--cluster",
        "meta-24k-roce",
        "--points",
        "3",
        "--max-gpus",
        "512",
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert (
        code == 0
        and [r["gpus"] for r in doc["rows"]] == [8, 64, 512]
        and doc["fabric"]["gpus"] == 512
    )
    code, out, _ = run(
        "scale",
        "--model",
        "llama3-8b",
        "--cluster",
        "meta-24k-roce",
        "--points",
        "2",
        "--max-gpus",
        "64",
        "--format",
        "csv",
    )
    assert (
        code == 0 and out.splitlines()[0].startswith("gpus,layout") and len(out.splitlines()) == 3
    )


def test_infer_table() -> None:
    code, out, _ = run("infer", "--model", "llama3-8b", "--rate", "5", "--tpot-ms", "30")
    assert code == 0 and "requests/s" in out and "KV cache" in out


def test_plan_days_and_overrides() -> None:
    code, out, _ = run(
        "plan",
        "--model",
        "llama3-8b",
        "--cluster",
        "meta-24k-roce",
        "--gpus",
        "1024",
        "--tokens",
        "1T",
        "--days",
        "20",
        "--mbs",
        "1",
        "--pue",
        "1.3",
        "--format",
        "json",
    )
    plan = json.loads(out)
    assert code == 0 and plan["training"]["days"] <= 20 and plan["power"]["pue"] == 1.3
    assert "--pue 1.3 given on the command line" in json.dumps(plan["scale_assumptions"])


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("plan", "--model", "llama3-8b", "--pue", "0.9"),
            "--pue = 0.9 is not valid; must be >= 1",
        ),
        (
            ("plan", "--model", "llama3-8b", "--usd-per-gpu-hour", "-2"),
            "--usd-per-gpu-hour = -2.0 is not valid",
        ),
        (
            ("plan", "--model", "llama3-8b", "--electricity-usd-per-kwh", "-0.1"),
            "--electricity-usd-per-kwh",
        ),
        (
            ("plan", "--model", "llama3-8b", "--storage-gbps", "0"),
            "--storage-gbps = 0.0 is not valid; must be > 0",
        ),
        (("plan", "--model", "llama3-8b", "--tokens", "0"), "--tokens '0' must be positive"),
        (("plan", "--model", "llama3-8b", "--days", "10"), "--days needs --tokens"),
        (
            ("scale", "--model", "llama3-8b", "--cluster", "dgx-h100", "--tokens", "0"),
            "--tokens '0' must be positive",
        ),
        (
            ("scale", "--model", "llama3-8b", "--cluster", "dgx-h100", "--capex-usd-per-gpu", "0"),
            "--capex-usd-per-gpu",
        ),
        (("infer", "--model", "llama3-8b", "--rate", "0"), "--rate 0.0 is not valid"),
    ],
)
def test_bad_input_exit_2_one_line(args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_bad_cluster_toml_pue(tmp_path) -> None:
    from exabench.workloads.tomlfile import DATA_DIR

    text = (DATA_DIR / "clusters" / "dgx-h100.toml").read_text().replace("pue = 1.2", "pue = 0.95")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = run("plan", "--model", "llama3-8b", "--cluster", str(path))
    assert (
        code == 2
        and "power.pue = 0.95 is not valid; must be >= 1" in err
        and len(err.strip().splitlines()) == 1
    )
    path.write_text(text.replace("nic_gbps = 400", "nic_gbps = 0"))
    code, _, err = run("plan", "--model", "llama3-8b", "--cluster", str(path))
    assert code == 2 and "nic_gbps = 0" in err
