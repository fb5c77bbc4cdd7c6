"""GEMM shape sweeps as data (triton ``Benchmark`` style): each function returns ``(m, n, k)``
triples for ``C[m, n] = A[m, k] @ B[k, n]``; the GEMM benchmark turns them into cases."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exabench.errors import UserError

Shape = tuple[int, int, int]

QUICK_GPU_SIZES = (1024, 4096, 8192)
FULL_GPU_SIZES = (256, 512, 1024, 2048, 4096, 6144, 8192, 12288, 16384)
QUICK_CPU_SIZES = (128, 512, 1024)
FULL_CPU_SIZES = (128, 256, 512, 1024, 2048)
# Decode-like batch sizes: one token per sequence, so M is the number of sequences in flight.
SKINNY_M = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def square(sizes: Iterable[int]) -> list[Shape]:
    return [(s, s, s) for s in sizes]


def parse_sizes(text: str) -> list[int]:
    """``"1024,4096"`` or ``"1k,4k"`` → ``[1024, 4096]``."""
    sizes = []
    for token in text.split(","):
        token = token.strip().lower()
        match = re.fullmatch(r"(\d+)(k?)", token)
        if not match:
            raise UserError(
                f"size {token!r} is not valid; give positive integers like 1024,4096 or 1k,4k"
            )
        value = int(match.group(1)) * (1024 if match.group(2) else 1)
        if value <= 0:
            raise UserError(f"size {token!r} must be positive")
        sizes.append(value)
    return sizes


def parse_shapes(text: str) -> list[Shape]:
    """``"4096x4096x4096,1x4096x14336"`` (MxNxK) → shapes."""
    shapes = []
    for token in text.split(","):
        parts = token.strip().lower().split("x")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise UserError(
                f"shape {token.strip()!r} is not valid; write MxNxK with positive integers, e.g."
                " 4096x4096x4096"
            )
        m, n, k = (int(p) for p in parts)
        shapes.append((m, n, k))
    return shapes


@dataclass(frozen=True, kw_only=True)
class LayerDims:
    """The dimensions of one transformer layer that set its GEMM shapes."""

    hidden: int
    ffn_hidden: int
    heads: int
    kv_heads: int
    gated_mlp: bool = True
    """SwiGLU-style MLP: the up projection produces two ffn_hidden halves (gate and up)."""

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


def transformer_layer(dims: LayerDims, tokens: int, tp: int = 1) -> dict[str, Shape]:
    """The named forward GEMMs of one layer on one tensor-parallel rank (Megatron layout).

    ``tokens`` = micro-batch sequences × sequence length. Column-parallel layers (QKV, MLP up)
    split their output N by ``tp``; row-parallel layers (attention out, MLP down) split K.
    QKV outputs ``(heads + 2·kv_heads)·head_dim`` features (grouped-query attention).
    """
    if tp < 1 or dims.heads % tp or dims.ffn_hidden % tp:
        raise UserError(f"tp={tp} must divide heads={dims.heads} and ffn_hidden={dims.ffn_hidden}")
    qkv_out = (dims.heads + 2 * dims.kv_heads) * dims.head_dim
    up_out = dims.ffn_hidden * (2 if dims.gated_mlp else 1)
    return {
        "qkv": (tokens, qkv_out // tp, dims.hidden),
        "attn_out": (tokens, dims.hidden, dims.hidden // tp),
        "mlp_up": (tokens, up_out // tp, dims.hidden),
        "mlp_down": (tokens, dims.hidden, dims.ffn_hidden // tp),
    }


def skinny(
    weights: dict[str, tuple[int, int]], ms: Sequence[int] = SKINNY_M
) -> list[tuple[str, Shape]]:
    """Decode-like GEMMs: ``M`` tokens against each weight matrix ``(N, K)``."""
    return [(f"{name}_m{m}", (m, n, k)) for name, (n, k) in weights.items() for m in ms]


def layer_weights(dims: LayerDims, tp: int = 1) -> dict[str, tuple[int, int]]:
    """``(N, K)`` of each weight matrix of a layer: the right-hand sides of
    :func:`transformer_layer`."""
    return {name: (n, k) for name, (_m, n, k) in transformer_layer(dims, 1, tp).items()}


# Llama 3 8B (Meta, "The Llama 3 Herd of Models", Table 3): the default skinny-sweep weights
# until a model is named.
LLAMA3_8B = LayerDims(hidden=4096, ffn_hidden=14336, heads=32, kv_heads=8, gated_mlp=True)
