from __future__ import annotations

import pytest

from exabench.analysis.planner.pipeline import bubble_fraction, inflight_microbatches, stage_layers


def test_llama3_uneven_stages() -> None:
    # 126 layers on 16 stages: first and last carry one layer less (Dubey et al. 2024, 3.3.2)
    assert stage_layers(126, 16) == [7] + [8] * 14 + [7]
    assert stage_layers(96, 8) == [12] * 8
    assert sum(stage_layers(105, 35)) == 105


@pytest.mark.parametrize("layers, pp", [(10, 4), (61, 16), (5, 5), (7, 1)])
def test_every_layer_lands_on_one_stage(layers: int, pp: int) -> None:
    counts = stage_layers(layers, pp)
    assert sum(counts) == layers and len(counts) == pp and min(counts) >= 1


def test_bubble_and_inflight() -> None:
    assert bubble_fraction(8, 1, 64) == pytest.approx(7 / 64)
    assert bubble_fraction(8, 3, 64) == pytest.approx(7 / 192)
    assert inflight_microbatches(1, 1, 10) == 1
    assert inflight_microbatches(8, 1, 64) == 8 and inflight_microbatches(8, 1, 4) == 4
    assert inflight_microbatches(8, 2, 64) == pytest.approx(8 * (1 + 7 / 16))
