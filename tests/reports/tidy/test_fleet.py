"""Fleet summaries as tidy frames: the summary's statistics, each GPU against its median, the
flagged GPUs worst first, and figure keys as readable labels."""

from __future__ import annotations

import pytest

from exabench.reports.inputs.documents import FleetDocument
from exabench.reports.tidy import fleet as tf
from exabench.testing.samples_fleet import sample_fleet


@pytest.fixture(scope="module")
def fleet():
    sample = sample_fleet()
    return FleetDocument("fleet", "f/fleet.json", sample["fleet"], gpus=sample["gpus"])


def test_summary_frame_is_the_summary(fleet):
    frame = tf.summary_frame([fleet]).set_index("label")
    assert (
        len(frame) == 3
        and set(frame["fleet"]) == {"fleet_20250101T000000Z"}
        and set(frame["n"]) == {64}
    )
    assert frame.loc["gemm_bf16 8192×8192×8192 · TFLOP/s", ["slow", "fast", "unit"]].tolist() == [
        2,
        0,
        "TFLOP/s",
    ]
    assert frame.loc["triad 1.00 GiB bf16 · GB/s", "slow"] == 1


def test_gpu_frame_places_every_gpu_against_its_median(fleet):
    frame = tf.gpu_frame([fleet])
    assert len(frame) == 3 * 64
    slow = frame[frame["status"] == "slow outlier"]
    assert sorted(zip(slow["rank"], slow["unit"], strict=True)) == [
        (13, "TFLOP/s"),
        (42, "GB/s"),
        (42, "TFLOP/s"),
    ]
    assert set(slow["host"]) == {"node-001", "node-005"} and (slow["z"] < -3.5).all()
    gemm13 = slow[slow["rank"] == 13].iloc[0]
    assert gemm13["rel_pct"] == pytest.approx(
        -13.6, abs=0.1
    )  # planted at 0.85 of healthy, with 1 % noise
    healthy = frame[frame["status"] == "within the fleet"]
    assert healthy["rel_pct"].abs().max() < 3 and healthy["z"].abs().max() < 3.5


def test_flagged_gpus_without_their_runs_still_have_their_row(fleet):
    bare = FleetDocument("fleet", "f/fleet.json", fleet.doc)  # the rank Runs were not found
    frame = tf.gpu_frame([bare])
    assert sorted(frame["rank"]) == [13, 42, 42] and (frame["status"] == "slow outlier").all()


def test_flagged_frame_is_worst_first_with_the_local_gpu(fleet):
    frame = tf.flagged_frame([fleet])
    assert frame[["rank", "host", "local_rank"]].values.tolist() == [
        [13, "node-001", 5],
        [42, "node-005", 2],
        [42, "node-005", 2],
    ]
    assert (
        frame.loc[0, "uuid"] == "GPU-0000000d-5e1f-4c3a-9b7d-000000019223"
    )  # the board of rank 13
    assert frame["z"].is_monotonic_increasing and frame.loc[0, "below_pct"] == pytest.approx(
        13.6, abs=0.1
    )


@pytest.mark.parametrize(
    ("key", "label"),
    [
        (
            "gemm/gemm_fp32[backend=torch,dtype=fp32,k=512,m=512,n=512]:tflops",
            "gemm_fp32 512×512×512 · TFLOP/s",
        ),
        (
            "memory/copy[backend=cupy,bytes=67108864,dtype=fp32,kernel=copy]:gbps",
            "copy 64.0 MiB backend=cupy fp32 · GB/s",
        ),
        (
            "collectives/all_reduce[bytes=1024,dtype=fp32,inplace=True,op=sum]:rank_busbw_gbps",
            "all_reduce 1.00 KiB fp32 op=sum in-place · GB/s busbw/rank",
        ),
        ("not a key", "not a key"),
    ],
)
def test_figure_labels(key, label):
    assert tf.figure_label(key) == label
