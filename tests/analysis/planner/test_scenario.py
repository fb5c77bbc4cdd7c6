from __future__ import annotations

from exabench.analysis.planner.scenario import GPUS, TOKENS, default_scenario_plan, scenario_profile


def test_scenario_on_reference_without_a_run() -> None:
    plan = default_scenario_plan(None)
    sc = plan["inputs"]["scenario"]
    assert sc["basis"] == "reference" and plan["inputs"]["hardware"]["name"] == "h100-sxm"
    assert plan["inputs"]["gpus"] == GPUS and plan["training"]["tokens"] == TOKENS
    assert (
        plan["inputs"]["cluster"]["name"] == "colossus-100k"
        and plan["inputs"]["model"]["name"] == "llama3-405b"
    )
    assert (
        120 <= plan["power"]["facility_mw"] <= 200
        and 1.5 <= plan["cost"]["usd_per_gpu_hour"] <= 3.0
    )
    assert 30 <= plan["training"]["interruptions_per_day"] <= 70
    unc = plan["uncertainty"]
    assert unc["days"]["p10"] < unc["days"]["p50"] < unc["days"]["p90"]


def test_cpu_run_falls_back_to_reference_and_says_so() -> None:
    run = {"id": "cpu-run", "environment": {"gpu": {"devices": []}}, "results": []}
    profile, basis = scenario_profile(run)
    assert (
        profile.name == "h100-sxm"
        and basis["basis"] == "reference"
        and "not an H100-class GPU" in basis["why"]
    )


def test_h100_run_is_used_as_measured() -> None:
    run = {
        "id": "h100-run",
        "environment": {"gpu": {"devices": [{"name": "NVIDIA H100 80GB HBM3"}]}},
        "results": [{
            "suite": "gemm",
            "name": "gemm",
            "status": "ok",
            "params": {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"},
            "metrics": {"tflops": 700.0},
            "telemetry": {"power_mean_w": 640.0},
        }],
    }
    profile, basis = scenario_profile(run)
    assert basis["basis"] == "measured" and basis["run_id"] == "h100-run"
    plan = default_scenario_plan(run)
    assert plan["power"]["kind"] == "measured" and plan["power"]["gpu_w"] == 640.0


def test_cpu_run_plans_on_the_shipped_h100_runs_when_there_are_some(tmp_path, monkeypatch) -> None:
    import json

    from exabench.workloads import profile

    shipped = {
        "schema": "exabench.run/1",
        "id": "h100-shipped",
        "created": "2026-06-01T00:00:00Z",
        "config": {},
        "environment": {
            "fingerprint": "fp",
            "gpu": {"devices": [{"name": "NVIDIA H100 80GB HBM3"}]},
        },
        "results": [{
            "suite": "gemm",
            "name": "gemm_bf16",
            "unit": "s",
            "samples": [1.0],
            "stats": {},
            "status": "ok",
            "params": {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"},
            "metrics": {"tflops": 780.0},
        }],
    }
    (tmp_path / "h100-shipped.json").write_text(json.dumps(shipped))
    monkeypatch.setattr(profile, "MEASURED_DIR", tmp_path)
    run = {"id": "cpu-run", "environment": {"gpu": {"devices": []}}, "results": []}
    chosen, basis = scenario_profile(run)
    assert basis["basis"] == "shipped-measured" and basis["profile"] == "h100-sxm-measured"
    assert chosen.run_id == "h100-shipped" and "workloads/measured/" in basis["why"]
    assert chosen.provenance["gemm_efficiency"]["kind"] == "measured"
