"""Parameters and FLOPs of a transformer: model FLOPs (for MFU) and hardware FLOPs (with recompute).

Conventions (stated in every Plan):

- MFU counts model FLOPs only, PaLM appendix B (Chowdhery et al. 2022): per token
  ``6 N + 12 L H Q T`` with N the parameters that take part in matrix multiplies (all layer
  weights, active experts only for MoE, and the output projection; not the input-embedding
  lookup), and the attention term counted without the causal-mask halving. For a GPT this is
  exactly Megatron's 72-factor formula (Korthikanti et al. 2022):
  ``F = 72 B s l h^2 (1 + s/(6h) + V/(12 l h))``.
- HFU adds the recompute: full recompute repeats the layer forward (``8N + 16 LHQT`` per token,
  PaLM), selective repeats the attention core forward.
- The vocabulary is padded as Megatron pads it: up to a multiple of 128 x TP.
"""

from __future__ import annotations

from exabench.workloads.models import ModelSpec


def padded_vocab(vocab: int, tp: int = 1, multiple: int = 128) -> int:
    """Megatron ``_vocab_size_with_padding``: round up to a multiple of ``multiple * tp``."""
    step = multiple * tp
    return -(-vocab // step) * step


def attention_params(model: ModelSpec) -> int:
    """Matrix parameters of one attention block (projections; no biases or norms)."""
    h = model.hidden
    if model.mla is not None:
        a = model.mla
        qk = a.nope_head_dim + a.rope_head_dim
        return (
            h * a.q_rank
            + a.q_rank * model.heads * qk
            + h * (a.kv_rank + a.rope_head_dim)
            + a.kv_rank * model.heads * (a.nope_head_dim + a.v_head_dim)
            + model.heads * a.v_head_dim * h
        )
    hd = model.head_dim
    return h * (model.heads + 2 * model.kv_heads) * hd + model.heads * hd * h


def mlp_params(model: ModelSpec, ffn: int) -> int:
    """One MLP of width ``ffn``: two matrices (GeLU) or three (SwiGLU: gate, up, down)."""
    return (3 if model.gated else 2) * model.hidden * ffn


def layer_params(model: ModelSpec, index: int, *, active: bool = False) -> int:
    """Matrix parameters of layer ``index``; ``active``: only what one token goes through."""
    attn = attention_params(model)
    if not model.is_moe_layer(index):
        return attn + mlp_params(model, model.ffn_hidden)
    moe = model.moe
    assert moe is not None
    routed = moe.top_k if active else moe.experts
    return (attn + (routed + moe.shared_experts) * mlp_params(model, moe.expert_ffn_hidden)
            + model.hidden * moe.experts)  # router


def total_params(model: ModelSpec, tp: int = 1) -> int:
    """All parameters with the padded vocabulary (embedding, untied output, layers, norms)."""
    v = padded_vocab(model.vocab, tp)
    embed = v * model.hidden * (1 if model.tied_embeddings else 2)
    norms = (2 * model.layers + 1) * model.hidden
    return embed + norms + sum(layer_params(model, i) for i in range(model.layers))


def active_matmul_params(model: ModelSpec, tp: int = 1) -> int:
    """N of PaLM's 6N: layer matrices a token goes through, plus the output projection."""
    return (
        sum(layer_params(model, i, active=True) for i in range(model.layers))
        + padded_vocab(model.vocab, tp) * model.hidden
    )


def attention_dims(model: ModelSpec) -> tuple[int, int]:
    """(query/key width, value width) per head."""
    if model.mla is not None:
        return model.mla.nope_head_dim + model.mla.rope_head_dim, model.mla.v_head_dim
    return model.head_dim, model.head_dim


def attention_core_flops_fwd(model: ModelSpec, seq: int) -> float:
    """Forward FLOPs per token of one layer's QK^T and AV, causal mask not halved:
    2 s H (dqk + dv)."""
    qk, v = attention_dims(model)
    return 2.0 * seq * model.heads * (qk + v)


def model_flops_per_token(model: ModelSpec, seq: int, tp: int = 1) -> float:
    """PaLM appendix B model FLOPs per trained token (forward + backward): 6N + 12 L H Q T."""
    return 6.0 * active_matmul_params(model, tp) + 3.0 * model.layers * attention_core_flops_fwd(
        model, seq
    )


def hardware_flops_per_token(model: ModelSpec, seq: int, recompute: str, tp: int = 1) -> float:
    """Model FLOPs plus what recompute repeats (full: the layer forward; selective: the attention
    core)."""
    base = model_flops_per_token(model, seq, tp)
    attn = model.layers * attention_core_flops_fwd(model, seq)
    if recompute == "full":
        layers = sum(layer_params(model, i, active=True) for i in range(model.layers))
        return base + 2.0 * layers + attn
    if recompute == "selective":
        return base + attn
    return base


def megatron_model_flops(batch: int, seq: int, layers: int, hidden: int, vocab: int) -> float:
    """Korthikanti et al. 2022: 72 B s l h^2 (1 + s/(6h) + V/(12 l h)), FLOPs per iteration."""
    return (
        72.0
        * batch
        * seq
        * layers
        * hidden**2
        * (1 + seq / (6 * hidden) + vocab / (12 * layers * hidden))
    )


def megatron_hardware_flops(batch: int, seq: int, layers: int, hidden: int, vocab: int) -> float:
    """Narayanan et al. SC'21 eq. 3 (full recompute): 96 B s l h^2 (1 + s/(6h) + V/(16 l h))."""
    return (
        96.0
        * batch
        * seq
        * layers
        * hidden**2
        * (1 + seq / (6 * hidden) + vocab / (16 * layers * hidden))
    )
