"""Acceptance floors: parsing, the verdict per floor, and `bench --floor` end to end on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exabench.bench.floors import Floor, check_floors, describe, missed, parse_floors
from exabench.cli import main
from exabench.documents.run import load_run
from exabench.errors import UserError


def _result(suite: str, name: str, status: str = "ok", **metrics) -> dict:
    return {
        "suite": suite,
        "name": name,
        "params": {"size": metrics.pop("size", 1)},
        "status": status,
        "metrics": metrics,
    }


RESULTS = [
    _result("gemm", "gemm_bf16", tflops=640.0, size=4096),
    _result("gemm", "gemm_bf16", tflops=712.5, size=8192),
    _result("gemm", "gemm_bf16", status="failed", tflops=900.0),  # a failed result never counts
    _result("memory", "triad", gbps=2950.0, pct_of_peak=88.1),
    _result("collectives", "all_reduce", busbw_gbps=381.0),
]


@pytest.mark.parametrize(
    ("spec", "floor"),
    [
        ("gemm_bf16=700", Floor("gemm_bf16", None, 700.0, "gemm_bf16=700")),
        ("triad:pct_of_peak>=85", Floor("triad", "pct_of_peak", 85.0, "triad:pct_of_peak>=85")),
        (
            " all_reduce:busbw_gbps = 4e2 ",
            Floor("all_reduce", "busbw_gbps", 400.0, "all_reduce:busbw_gbps = 4e2"),
        ),
    ],
)
def test_parse(spec, floor) -> None:
    assert parse_floors([spec]) == [floor]


@pytest.mark.parametrize(
    "spec",
    [
        "gemm_bf16",
        "gemm_bf16=",
        "gemm_bf16=fast",
        "=700",
        "gemm_bf16=-1",
        "gemm_bf16=nan",
        "gemm bf16=700",
        "gemm_bf16:=700",
    ],
)
def test_bad_floors_are_one_line_user_errors(spec) -> None:
    with pytest.raises(UserError, match=r"--floor .* is not valid; give NAME\[:METRIC\]=MIN"):
        parse_floors([spec])


def test_the_best_ok_result_decides_on_the_suites_headline_metric() -> None:
    floors = parse_floors(
        ["gemm_bf16=700", "triad=3000", "triad:pct_of_peak=85", "all_reduce=400", "gemm_fp8=1300"]
    )
    verdicts = check_floors(RESULTS, floors)
    assert [(v["metric"], v["best"], v["ok"]) for v in verdicts] == [
        ("tflops", 712.5, True), ("gbps", 2950.0, False), ("pct_of_peak", 88.1, True),
        ("busbw_gbps", 381.0, False), (None, None, False)]
    assert verdicts[0]["params"] == {"size": 8192}
    assert [v["floor"] for v in missed(verdicts)] == [
        "triad=3000",
        "all_reduce=400",
        "gemm_fp8=1300",
    ]
    assert describe(verdicts[0]) == "gemm_bf16:tflops best 712.5 >= 700 ok"
    assert describe(verdicts[1]) == "triad:gbps best 2950 < 3000 MISSED"
    assert (
        describe(verdicts[4]) == "gemm_fp8:? not measured (no ok result of that name) < 1300 MISSED"
    )


def _bench(tmp_path: Path, capsys, *floors: str) -> tuple[int, str, str, dict]:
    args = ["bench", "gemm", "--device", "cpu", "--sizes", "64", "--dtype", "fp32", "--rep-ms", "2",
            "--warmup-ms", "1", "--out", str(tmp_path)]
    for floor in floors:
        args += ["--floor", floor]
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    (path,) = sorted(tmp_path.glob("*.json"))[-1:]
    return info.value.code, out, err, load_run(path)


def test_bench_meets_its_floor(tmp_path, capsys) -> None:
    code, out, err, run = _bench(tmp_path, capsys, "gemm_fp32=1e-9")
    assert code == 0, err
    assert "# floor gemm_fp32:tflops best" in out and ">= 1e-09 ok" in out
    assert run["floors"][0]["ok"] and run["config"]["options"]["floor"] == ["gemm_fp32=1e-9"]


def test_bench_below_its_floor_exits_1_and_keeps_the_run(tmp_path, capsys) -> None:
    code, out, err, run = _bench(tmp_path, capsys, "gemm_fp32=1e9", "gemm_fp64=0")
    assert code == 1
    assert "# floor gemm_fp32:tflops best" in out and "< 1e+09 MISSED" in out
    assert (
        err.startswith("error: 2 acceptance floor(s) missed (gemm_fp32:tflops best")
        and err.count("\n") == 1
    )
    assert run["results"][0]["status"] == "ok"  # measured fine, kept
    assert [v["ok"] for v in run["floors"]] == [
        False,
        False,
    ]  # fp64 was not asked for: not measured


def test_bench_json_output_carries_the_verdicts(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--sizes",
            "32",
            "--dtype",
            "fp32",
            "--rep-ms",
            "2",
            "--warmup-ms",
            "1",
            "--json",
            "--floor",
            "gemm_fp32=0",
            "--out",
            str(tmp_path),
        ])
    doc = json.loads(capsys.readouterr().out)
    assert (
        info.value.code == 0 and doc["floors"][0]["ok"] and doc["floors"][0]["metric"] == "tflops"
    )


def test_a_bad_floor_is_refused_before_anything_runs(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bench", "gemm", "--device", "cpu", "--floor", "gemm_fp32", "--out", str(tmp_path)])
    assert info.value.code == 2 and "--floor 'gemm_fp32' is not valid" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_a_resume_may_change_the_floors(tmp_path, capsys) -> None:
    code, _, _, run = _bench(tmp_path, capsys, "gemm_fp32=1e9")
    (path,) = tmp_path.glob("*.json")
    with pytest.raises(SystemExit) as info:
        main([
            "bench",
            "gemm",
            "--device",
            "cpu",
            "--sizes",
            "64",
            "--dtype",
            "fp32",
            "--rep-ms",
            "2",
            "--warmup-ms",
            "1",
            "--out",
            str(tmp_path),
            "--floor",
            "gemm_fp32=0",
            "--resume",
            str(path),
        ])
    assert code == 1 and info.value.code == 0, capsys.readouterr().err
    assert load_run(path)["floors"][0]["ok"]


def test_a_fleet_rank_below_its_floor_says_so(tmp_path) -> None:
    from exabench.bench.fleet import _below_floor
    from exabench.bench.writer import RunWriter

    writer = RunWriter(tmp_path, {"fingerprint": "f"}, {})
    writer.set("floors", check_floors(RESULTS, parse_floors(["gemm_bf16=800"])))
    writer.close()
    assert (
        _below_floor(load_run(writer.path)["floors"])
        == "below acceptance floor: gemm_bf16:tflops best 712.5 < 800 MISSED"
    )


def test_collectives_floor_is_checked_on_rank_0s_run(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([
            "bench",
            "collectives",
            "--device",
            "cpu",
            "--nproc",
            "2",
            "--collectives",
            "all_reduce",
            "--min-bytes",
            "1Ki",
            "--max-bytes",
            "4Ki",
            "--iters",
            "3",
            "--warmup-iters",
            "1",
            "--floor",
            "all_reduce=1e9",
            "--out",
            str(tmp_path),
        ])
    out, err = capsys.readouterr()
    (path,) = tmp_path.glob("*.json")
    assert info.value.code == 1 and "# floor all_reduce:busbw_gbps best" in out and "MISSED" in err
    assert load_run(path)["floors"][0]["metric"] == "busbw_gbps"


def test_a_fleet_rank_record_names_the_floor_it_missed(tmp_path) -> None:
    from exabench.bench.fleet import EXITED, _error_of
    from exabench.bench.runner import BenchOutcome
    from exabench.bench.writer import RunWriter

    writer = RunWriter(tmp_path, {"fingerprint": "f"}, {})
    writer.set("floors", check_floors(RESULTS, parse_floors(["gemm_bf16=800"])))
    writer.close()
    run = load_run(writer.path)

    def error(code: int, message: str | None = None) -> str | None:
        """The rank record's error when the rank's suites ended with this outcome."""
        return _error_of(BenchOutcome(path=writer.path, results=run["results"], suites=("gemm",),
                                      floors=run["floors"], exit_code=code, message=message))

    assert error(1) == "below acceptance floor: gemm_bf16:tflops best 712.5 < 800 MISSED"
    assert error(2, f"{EXITED} 2") == f"{EXITED} 2"  # not a floor's exit
