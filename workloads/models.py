"""Model specs: the transformer a plan trains, read from ``workloads/models/*.toml``.

Schema (docs/planner.md, "Inputs"): ``name, layers, hidden, heads, kv_heads, ffn_hidden, vocab,
seq_len, activation, tied_embeddings`` and an optional ``[moe]`` table; exabench adds
``description``, ``source``, ``[moe] dense_layers`` (the first n layers stay dense, as in
DeepSeek-V3) and an optional ``[mla]`` table (multi-head latent attention ranks). Unknown keys
are an error, never ignored: a typo would otherwise silently plan a different model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exabench.errors import UserError, one_of
from exabench.workloads.tomlfile import read_toml, resolve_spec, shipped_names

ACTIVATIONS = ("gelu", "relu", "squared_relu", "swiglu", "geglu")
GATED_ACTIVATIONS = ("swiglu", "geglu")
"""Gated linear units (Shazeer 2020, arXiv 2002.05202): an extra gate matrix in the MLP."""
POSITIONS = ("learned", "rope", "alibi")
"""Position encodings: learned absolute (GPT-3), rotary (RoFormer, arXiv 2104.09864: a pass over
Q and K in every layer), ALiBi (a bias inside the attention kernel)."""
TOP_KEYS = {"name", "description", "source", "layers", "hidden", "heads", "kv_heads", "ffn_hidden",
            "vocab", "seq_len", "activation", "tied_embeddings", "moe", "mla", "position",
            "dropout"}
MOE_KEYS = {"experts", "top_k", "expert_ffn_hidden", "shared_experts", "layer_freq", "dense_layers"}
MLA_KEYS = {"q_rank", "kv_rank", "rope_head_dim", "nope_head_dim", "v_head_dim"}


MAX_SIZE = 2**40
"""Beyond any model's dimension; bounds keep the arithmetic finite."""
MAX_LAYERS = 1_000
"""The planner walks the layers one by one (published models have under 200): beyond this a
mistyped count would hang it rather than plan."""


def _positive(
    where: str, field: str, value: Any, *, zero_ok: bool = False, high: int = MAX_SIZE
) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 0
        or (value == 0 and not zero_ok)
        or value > high
    ):
        valid = "an integer >= 0" if zero_ok else "a positive integer"
        raise UserError(
            f"{where}: {field} = {value!r} is not valid; must be {valid} up to {high:,}"
        )
    return value


@dataclass(kw_only=True, frozen=True)
class MoESpec:
    """Mixture-of-experts feed-forward: routed experts, top-k of them per token."""

    experts: int
    """Routed experts per MoE layer."""
    top_k: int
    """Routed experts each token goes through."""
    expert_ffn_hidden: int
    """Intermediate width of one expert's MLP."""
    shared_experts: int = 0
    """Experts every token goes through (DeepSeek style)."""
    layer_freq: int = 1
    """Every n-th layer (after ``dense_layers``) is MoE; the others are dense."""
    dense_layers: int = 0
    """The first n layers are dense (DeepSeek-V3: 3)."""


@dataclass(kw_only=True, frozen=True)
class MLASpec:
    """Multi-head latent attention ranks (DeepSeek-V2/V3); see deepseek-v3.toml for the
    approximation."""

    q_rank: int
    kv_rank: int
    rope_head_dim: int
    nope_head_dim: int
    v_head_dim: int


@dataclass(kw_only=True, frozen=True)
class ModelSpec:
    """A decoder-only transformer; all sizes are counts (layers, features, tokens)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    """Key/value heads; smaller than ``heads`` is grouped-query attention."""
    ffn_hidden: int
    """MLP intermediate width of a dense layer (default 4 x hidden)."""
    vocab: int
    """Vocabulary before padding (the planner pads it as Megatron does)."""
    seq_len: int
    """Default training sequence length, tokens."""
    activation: str = "gelu"
    """``gelu``, ``relu``, ``squared_relu`` (Primer, So et al. 2021, arXiv 2109.08668): two MLP
    matrices; ``swiglu`` or ``geglu``: three (gate, up, down)."""
    tied_embeddings: bool = False
    position: str = "learned"
    """``learned``, ``rope`` or ``alibi``: rope adds a memory-bound pass over Q and K."""
    dropout: bool = True
    """Dropout after attention and MLP (GPT-3-era models); Llama 3 trains without: no masks to
    write or keep."""
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    description: str = ""
    source: str = ""

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def gated(self) -> bool:
        return self.activation in GATED_ACTIVATIONS

    def is_moe_layer(self, index: int) -> bool:
        """Whether layer ``index`` (0-based) has routed experts."""
        if self.moe is None or index < self.moe.dense_layers:
            return False
        return (index - self.moe.dense_layers) % self.moe.layer_freq == self.moe.layer_freq - 1

    @property
    def moe_layers(self) -> int:
        return sum(self.is_moe_layer(i) for i in range(self.layers))


def _check_keys(where: str, table: dict[str, Any], valid: set[str], label: str) -> None:
    unknown = sorted(set(table) - valid)
    if unknown:
        raise UserError(
            f"{where}: unknown key {label}{unknown[0]!r}; valid: {', '.join(sorted(valid))}"
        )


def parse_model(doc: dict[str, Any], where: str) -> ModelSpec:
    """Validate a parsed model TOML; every problem is one UserError naming the field."""
    _check_keys(where, doc, TOP_KEYS, "")
    for required in ("layers", "hidden", "heads", "vocab", "seq_len"):
        if required not in doc:
            raise UserError(f"{where}: missing {required!r} (a positive integer)")
    sizes = {k: _positive(where, k, doc[k], high=MAX_LAYERS if k == "layers" else MAX_SIZE)
             for k in ("layers", "hidden", "heads", "vocab", "seq_len")}
    heads = sizes["heads"]
    kv_heads = _positive(where, "kv_heads", doc.get("kv_heads", heads))
    ffn_hidden = _positive(where, "ffn_hidden", doc.get("ffn_hidden", 4 * sizes["hidden"]))
    if sizes["hidden"] % heads:
        raise UserError(f"{where}: heads = {heads} must divide hidden = {sizes['hidden']}")
    if kv_heads > heads or heads % kv_heads:
        raise UserError(
            f"{where}: kv_heads = {kv_heads} must divide heads = {heads} (1 <= kv_heads <= heads)"
        )
    activation = _choice(where, doc, "activation", "gelu", ACTIVATIONS)
    position = _choice(where, doc, "position", "learned", POSITIONS)
    tied, dropout = (_flag(where, doc, "tied_embeddings", False),
                     _flag(where, doc, "dropout", True))
    return ModelSpec(
        name=str(doc.get("name") or Path(where).stem),
        position=position,
        dropout=dropout,
        **sizes,
        kv_heads=kv_heads,
        ffn_hidden=ffn_hidden,
        activation=activation,
        tied_embeddings=tied,
        moe=_parse_moe(doc.get("moe"), where, sizes["layers"]),
        mla=_parse_mla(doc.get("mla"), where),
        description=str(doc.get("description", "")),
        source=str(doc.get("source", "")),
    )


def _choice(where: str, doc: dict[str, Any], key: str, default: str,
            valid: tuple[str, ...]) -> str:
    """``doc[key]`` (``default`` when absent) if it is one of ``valid``; a UserError otherwise."""
    value = doc.get(key, default)
    if value not in valid:
        raise UserError(f"{where}: {one_of(value, valid, name=key)}")
    return value


def _flag(where: str, doc: dict[str, Any], key: str, default: bool) -> bool:
    """``doc[key]`` (``default`` when absent) if it is a TOML boolean; a UserError otherwise."""
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise UserError(f"{where}: {key} = {value!r} must be true or false")
    return value


def _parse_moe(table: Any, where: str, layers: int) -> MoESpec | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UserError(f"{where}: [moe] must be a table with experts, top_k, expert_ffn_hidden")
    _check_keys(where, table, MOE_KEYS, "moe.")
    for required in ("experts", "top_k", "expert_ffn_hidden"):
        if required not in table:
            raise UserError(
                f"{where}: [moe] lacks {required!r}; a mixture-of-experts model needs experts,"
                " top_k and expert_ffn_hidden"
            )
    moe = MoESpec(
        experts=_positive(where, "moe.experts", table["experts"]),
        top_k=_positive(where, "moe.top_k", table["top_k"]),
        expert_ffn_hidden=_positive(where, "moe.expert_ffn_hidden", table["expert_ffn_hidden"]),
        shared_experts=_positive(
            where, "moe.shared_experts", table.get("shared_experts", 0), zero_ok=True
        ),
        layer_freq=_positive(where, "moe.layer_freq", table.get("layer_freq", 1)),
        dense_layers=_positive(
            where, "moe.dense_layers", table.get("dense_layers", 0), zero_ok=True
        ),
    )
    if moe.top_k > moe.experts:
        raise UserError(
            f"{where}: moe.top_k = {moe.top_k} must be at most moe.experts = {moe.experts}"
        )
    if moe.dense_layers >= layers:
        raise UserError(
            f"{where}: moe.dense_layers = {moe.dense_layers} leaves no MoE layer; must be below"
            f" layers = {layers}"
        )
    return moe


def _parse_mla(table: Any, where: str) -> MLASpec | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UserError(f"{where}: [mla] must be a table with {', '.join(sorted(MLA_KEYS))}")
    _check_keys(where, table, MLA_KEYS, "mla.")
    missing = sorted(MLA_KEYS - set(table))
    if missing:
        raise UserError(
            f"{where}: [mla] lacks {missing[0]!r}; it needs {', '.join(sorted(MLA_KEYS))}"
        )
    return MLASpec(**{k: _positive(where, f"mla.{k}", table[k]) for k in MLA_KEYS})


def load_model(name_or_path: str) -> ModelSpec:
    """A shipped model by name (``llama3-405b``) or a model TOML by path."""
    path = resolve_spec("models", name_or_path)
    return parse_model(read_toml(path), str(path))


def shipped_models() -> list[ModelSpec]:
    return [load_model(name) for name in shipped_names("models")]
