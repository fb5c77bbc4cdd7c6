"""Runs as tidy frames: only ok results with numbers, bands from quartiles, telemetry shapes."""

from __future__ import annotations

import pytest

from exabench.documents.run import make_result
from exabench.reports.inputs.documents import Document
from exabench.reports.tidy import runs as tr
from exabench.testing import samples


def _run(**kw):
    return Document("run", "r.json", samples.sample_run(**kw))


def test_gemm_frame_keeps_ok_points_with_intensity_and_band():
    doc = samples.sample_run(suites=("gemm",))
    doc["results"].append(
        make_result(
            suite="gemm",
            name="x",
            params={"m": 8, "n": 8, "k": 8, "dtype": "bf16"},
            status="failed",
            error="wrong result",
        )
    )
    frame = tr.gemm_frame([Document("run", "r", doc)])
    assert len(frame) == 16 and set(frame["dtype"]) == set(samples.PEAKS)
    row = frame[(frame["dtype"] == "bf16") & (frame["m"] == 4096)].iloc[0]
    # 2·n³ FLOP over 3·n² bf16 elements of 2 bytes: n/3 FLOP per byte.
    assert row["intensity"] == pytest.approx(4096 / 3)
    assert row["tflops_lo"] <= row["tflops"] <= row["tflops_hi"]
    assert row["device"] == "NVIDIA H100 80GB HBM3"


def test_suite_frames_and_absent_suites():
    frames = [tr.memory_frame([_run()]), tr.collectives_frame([_run()])]
    assert all(len(f) > 0 for f in frames)
    assert frames[1]["series"].iloc[0].endswith("×8")
    gemm_only = [_run(suites=("gemm",), timeline_points=0)]
    assert tr.memory_frame(gemm_only).empty and tr.collectives_frame(gemm_only).empty
    assert tr.timeline_frame(gemm_only).empty


def test_timeline_reads_several_shapes_and_throttle_encodings():
    doc = samples.sample_run(suites=(), timeline_points=0)
    doc["telemetry"] = {
        "samples": {
            "0": [
                {"t": 10.0, "power": 500, "sm_mhz": 1800, "throttle_reasons": 0x1},
                {"t": 11.0, "power": 510, "sm_mhz": 1500, "throttle_reasons": 0x4},
            ],
            "1": [{"t": 10.5, "power": 400, "clock_mhz": 1700, "reasons": ["SwPowerCap"]}],
        }
    }
    frame = tr.timeline_frame([Document("run", "r", doc)])
    assert list(frame["t_s"]) == [0.0, 1.0, 0.5]
    assert list(frame["throttled"]) == [False, True, True]  # GpuIdle alone is not throttling
    assert list(frame["gpu"]) == ["0", "0", "1"]


def test_labels_and_counts():
    doc = samples.sample_run()
    assert tr.run_label(doc) == "sample-run"
    doc["environment"]["gpu"] = {"count": 0, "devices": []}
    assert tr.device_label(doc) == "CPU: AMD EPYC 9654"
    assert tr.status_counts([Document("run", "r", doc)])["ok"] == len(doc["results"])
