from __future__ import annotations

import pytest

from exabench.bench.gemm import shapes
from exabench.errors import UserError


def test_parse_sizes_and_shapes() -> None:
    assert shapes.parse_sizes("1024, 4k") == [1024, 4096]
    assert shapes.parse_shapes("1x2x3,4x5x6") == [(1, 2, 3), (4, 5, 6)]


@pytest.mark.parametrize("text", ["", "abc", "-1", "0"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(UserError):
        shapes.parse_sizes(text)


@pytest.mark.parametrize("text", ["1x2", "1x2x0", "axbxc"])
def test_bad_shapes(text: str) -> None:
    with pytest.raises(UserError, match="MxNxK"):
        shapes.parse_shapes(text)


def test_llama3_8b_layer_gemms_with_tp() -> None:
    # Llama 3 8B: hidden 4096, 32 heads of 128, 8 KV heads, SwiGLU ffn 14336.
    layer = shapes.transformer_layer(shapes.LLAMA3_8B, tokens=8192, tp=2)
    assert layer["qkv"] == (8192, (32 + 2 * 8) * 128 // 2, 4096)
    assert layer["attn_out"] == (8192, 4096, 2048)
    assert layer["mlp_up"] == (8192, 2 * 14336 // 2, 4096)
    assert layer["mlp_down"] == (8192, 4096, 14336 // 2)


def test_tp_must_divide_heads() -> None:
    with pytest.raises(UserError, match="tp=3"):
        shapes.transformer_layer(shapes.LLAMA3_8B, tokens=1, tp=3)


def test_skinny_sweep_covers_decode_batches() -> None:
    sweep = shapes.skinny({"w": (4096, 1024)})
    assert [s for _, s in sweep][0] == (1, 4096, 1024)
    assert [s[0] for _, s in sweep] == list(shapes.SKINNY_M)
