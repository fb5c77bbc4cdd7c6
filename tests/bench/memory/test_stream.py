from __future__ import annotations

import pytest

from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.memory import (
    GIB,
    RESERVED_GIB,
    layer_activation_bytes,
    memory_parts,
    memory_per_gpu,
    stage_params,
)
from exabench.workloads.models import load_model

GPT = load_model("gpt3-175b")  # a = 96, h = 12288: Korthikanti's formulas apply as written
S, B, H, A, T = 2048, 1, 12288, 96, 8
SBH = S * B * H


@pytest.mark.parametrize(
    "layout, expected",
    [
        (
            Layout(tp=T, seq=S, sequence_parallel=False, flash_attention=False, recompute="none"),
            SBH * (10 + 24 / T + 5 * A * S / (H * T)),
        ),
        (
            Layout(tp=T, seq=S, sequence_parallel=True, flash_attention=False, recompute="none"),
            SBH / T * (34 + 5 * A * S / H),
        ),
        (
            Layout(
                tp=T, seq=S, sequence_parallel=True, flash_attention=False, recompute="selective"
            ),
            34 * SBH / T,
        ),
        (Layout(tp=T, seq=S, sequence_parallel=True, recompute="full"), 2 * SBH / T),
    ],
)
def test_korthikanti_table2_activations(layout: Layout, expected: float) -> None:
    assert layer_activation_bytes(GPT, False, layout) == pytest.approx(expected)


def test_flash_attention_drops_the_score_matrix() -> None:
    lo = Layout(tp=T, seq=S, recompute="none")
    assert layer_activation_bytes(GPT, False, lo) == pytest.approx(34 * SBH / T)


def test_zero_stages_shard_states() -> None:
    llama = load_model("llama3-70b")
    parts = {
        z: memory_parts(llama, Layout(tp=8, dp=16, zero=z, global_batch=16, seq=8192))
        for z in range(4)
    }
    dense, _ = stage_params(llama, Layout(tp=8), 0)
    assert parts[0]["optimizer"] == pytest.approx(12 * dense) and parts[1][
        "optimizer"
    ] == pytest.approx(12 * dense / 16)
    assert parts[1]["gradients"] == pytest.approx(4 * dense) and parts[2][
        "gradients"
    ] == pytest.approx(4 * dense / 16)
    # ZeRO-3 also holds two whole layers gathered in bf16 (the one computing, the one prefetched)
    assert parts[2]["weights"] == pytest.approx(2 * dense) and parts[3]["weights"] == pytest.approx(
        2 * dense / 16 + 2 * 2 * dense / 80
    )
    assert parts[0]["reserved"] == RESERVED_GIB * GIB


def test_expert_parallel_spreads_expert_weights() -> None:
    mixtral = load_model("mixtral-8x7b")
    _, one = stage_params(mixtral, Layout(ep=1), 0)
    _, eight = stage_params(mixtral, Layout(ep=8), 0)
    assert one == pytest.approx(8 * eight)


def test_fits_against_capacity() -> None:
    llama = load_model("llama3-405b")
    big = memory_per_gpu(
        llama, Layout(tp=8, pp=16, dp=64, global_batch=2048, seq=8192, recompute="full"), 80
    )
    assert big["fits"] and big["gib_per_gpu"] < 80
    assert not memory_per_gpu(llama, Layout(tp=1, dp=8, global_batch=8, seq=8192), 80)["fits"]
