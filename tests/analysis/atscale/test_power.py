from __future__ import annotations

import pytest

from exabench.analysis.atscale.params import from_cluster
from exabench.analysis.atscale.power import measured_gpu_watts, power_section
from exabench.analysis.atscale.sections import peak_eflops
from exabench.workloads.clusters import load_cluster
from exabench.workloads.profile import load_reference

COLOSSUS = load_cluster("colossus-100k")
PARAMS = from_cluster(COLOSSUS, 700.0)


def test_colossus_facility_power_in_range() -> None:
    p = power_section(PARAMS, 100_000, 24.0)
    assert 120 <= p["facility_mw"] <= 200 and 120 <= p["facility_mw_rated"] <= 200
    assert p["it_mw_rated"] == pytest.approx(100_000 * 1275 * 1.1 / 1e6)
    assert p["facility_mw"] == pytest.approx(p["it_mw"] * 1.2)
    assert p["energy_mwh"] == pytest.approx(p["facility_mw"] * 24)
    assert p["emissions_tco2"] == pytest.approx(p["energy_mwh"] * PARAMS.grid_kg_co2_per_kwh)
    assert p["kind"] == "published" and "TDP 700 W" in p["source"]


def test_peaks_bf16_dense_and_the_4_pflops_figure() -> None:
    peaks = peak_eflops(load_reference("h100-sxm"), 100_000)
    assert peaks["bf16_dense"] == pytest.approx(98.9, abs=0.05)
    assert peaks["fp8_sparse_per_gpu_pflops"] == pytest.approx(3.96, abs=0.01)
    assert "sparsity" in peaks["note"]


def test_measured_gpu_power_from_the_busiest_gemm() -> None:
    run = {
        "id": "r1",
        "results": [
            {
                "suite": "gemm",
                "name": "a",
                "status": "ok",
                "metrics": {"tflops": 500},
                "telemetry": {"power_mean_w": 520},
            },
            {
                "suite": "gemm",
                "name": "b",
                "status": "ok",
                "metrics": {"tflops": 700},
                "telemetry": {"power_mean_w": 655},
            },
            {
                "suite": "memory",
                "name": "c",
                "status": "ok",
                "metrics": {"gbps": 3000},
                "telemetry": {"power_mean_w": 400},
            },
        ],
        "telemetry": {"power_mean_w": 300},
    }
    watts, source = measured_gpu_watts(run)
    assert watts == 655 and "r1" in source
    assert (
        measured_gpu_watts({"id": "r2", "results": [], "telemetry": {"power_mean_w": 300}})[0]
        == 300
    )
    assert measured_gpu_watts({"id": "cpu", "results": [], "telemetry": None}) is None
    p = power_section(PARAMS, 8, 1.0, (655.0, source))
    assert p["kind"] == "measured" and p["gpu_w"] == 655
