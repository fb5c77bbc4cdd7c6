"""Hardware profiles as data: the reference profiles that ship, and the shipped measured Runs."""

from __future__ import annotations

import json

import pytest

from exabench.documents.run import SCHEMA
from exabench.workloads import profile
from exabench.workloads.profile import load_reference, run_device_name, shipped_measured


def test_reference_profiles_are_published_with_sources() -> None:
    for name in ("h100-sxm", "h200-sxm", "a100-sxm", "h100-pcie"):
        p = load_reference(name)
        assert all(v["kind"] == "published" and v["source"] for v in p.provenance.values())
        assert 0 < p.gemm_efficiency("bf16", 1e12) < 1 and p.nvlink_busbw("all_reduce", 1e9) > 0
    h100 = load_reference("h100-sxm")
    # Plateau: 0.85 x the MAMF fraction 794.5/989 (ml-engineering compute/accelerator/README.md)
    assert h100.gemm_efficiency("bf16", 1e15) == pytest.approx(0.85 * 0.803, abs=1e-3)
    assert h100.gemm_efficiency("bf16", 1e8) < h100.gemm_efficiency("bf16", 1e11)
    assert h100.nvlink_busbw("all_reduce", 8589.9e6) == pytest.approx(478.9e9)


def test_shipped_measured_lists_gpu_runs_newest_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(profile, "MEASURED_DIR", tmp_path)
    for run_id, created, device in (("old", "2026-01-01T00:00:00Z", "NVIDIA H100 80GB HBM3"),
                                    ("new", "2026-06-01T00:00:00Z", "NVIDIA H100 80GB HBM3"),
                                    ("cpu", "2026-07-01T00:00:00Z", None)):
        devices = [{"name": device}] if device else []
        (tmp_path / f"{run_id}.json").write_text(json.dumps({
            "schema": SCHEMA, "id": run_id, "created": created, "config": {}, "results": [],
            "environment": {"gpu": {"devices": devices}}}))
    listed = shipped_measured()
    assert [(name, run["id"]) for name, run in listed] == [("h100-sxm", "new"), ("h100-sxm", "old")]
    assert run_device_name(listed[0][1]) == "NVIDIA H100 80GB HBM3"
    assert run_device_name({"environment": {}}) is None
