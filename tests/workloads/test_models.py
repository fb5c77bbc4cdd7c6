from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exabench.analysis.planner.flops import active_matmul_params, mlp_params, total_params
from exabench.errors import UserError
from exabench.workloads.models import (
    ACTIVATIONS,
    GATED_ACTIVATIONS,
    POSITIONS,
    load_model,
    parse_model,
    shipped_models,
)

BASE = {"name": "t", "layers": 2, "hidden": 64, "heads": 4, "vocab": 100, "seq_len": 16}


def test_every_shipped_model_loads_with_a_source() -> None:
    names = {m.name for m in shipped_models()}
    assert {
        "gpt3-175b",
        "llama3-8b",
        "llama3-70b",
        "llama3-405b",
        "mixtral-8x7b",
        "grok-1",
        "deepseek-v3",
    } <= names
    assert all(m.source for m in shipped_models())


@pytest.mark.parametrize("name, total_b, active_b", [
    ("llama3-8b", 8.03, 7.50), ("llama3-70b", 70.55, 69.50), ("llama3-405b", 405.85, 403.75),
    ("mixtral-8x7b", 46.70, 12.75), ("grok-1", 316.49, 83.76), ("deepseek-v3", 671.03, 36.62),
])
def test_parameter_counts_match_the_published_sizes(
    name: str, total_b: float, active_b: float
) -> None:
    # Published: Llama 3 8.0/70.6/405B (model cards), Mixtral 46.7B total 12.9B active,
    # Grok-1 314B, DeepSeek-V3 671B total 37B active (its 37B counts the embedding too).
    model = load_model(name)
    assert total_params(model) / 1e9 == pytest.approx(total_b, abs=0.01)
    assert active_matmul_params(model) / 1e9 == pytest.approx(active_b, abs=0.01)


def test_gemm_cli_attributes() -> None:
    m = load_model("llama3-70b")
    assert (m.hidden, m.ffn_hidden, m.heads, m.kv_heads, m.activation, m.seq_len) == (
        8192,
        28672,
        64,
        8,
        "swiglu",
        8192,
    )


def test_defaults_and_moe_layers() -> None:
    m = parse_model(dict(BASE), "t.toml")
    assert m.kv_heads == 4 and m.ffn_hidden == 256 and m.activation == "gelu" and m.moe is None
    ds = load_model("deepseek-v3")
    assert ds.moe_layers == 58 and not ds.is_moe_layer(2) and ds.is_moe_layer(3)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"layerz": 3}, "unknown key 'layerz'"),
        ({"layers": 0}, "layers = 0 is not valid"),
        ({"hidden": -64}, "hidden = -64 is not valid"),
        ({"heads": 5}, "heads = 5 must divide hidden"),
        ({"kv_heads": 3}, "kv_heads = 3 must divide heads"),
        ({"activation": "tanh"}, "valid: gelu, relu, squared_relu, swiglu, geglu"),
        ({"moe": {"top_k": 2, "expert_ffn_hidden": 8}}, "lacks 'experts'"),
        ({"moe": {"experts": 0, "top_k": 1, "expert_ffn_hidden": 8}}, "moe.experts = 0"),
        ({"moe": {"experts": 2, "top_k": 3, "expert_ffn_hidden": 8}}, "top_k = 3 must be at most"),
        (
            {"moe": {"experts": 2, "top_k": 1, "expert_ffn_hidden": 8, "gate": 1}},
            "unknown key moe.'gate'",
        ),
        ({"seq_len": 2.5}, "seq_len = 2.5"),
        ({"tied_embeddings": "yes"}, "tied_embeddings"),
    ],
)
def test_invalid_specs_are_one_line_user_errors(change: dict, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("'", "'")) as info:
        parse_model({**BASE, **change}, "t.toml")
    assert "\n" not in str(info.value)


def test_model_from_a_path(tmp_path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text('layers = 2\nhidden = 64\nheads = 4\nvocab = 100\nseq_len = 16\n')
    assert load_model(str(path)).name == "tiny"
    with pytest.raises(UserError, match="unknown models"):
        load_model("no-such-model")


# --- activations, position encodings, dropout -------------------------------------------------

@pytest.mark.parametrize("activation, matrices", [
    ("gelu", 2), ("relu", 2), ("squared_relu", 2), ("swiglu", 3), ("geglu", 3)])
def test_mlp_parameters_by_activation(activation: str, matrices: int) -> None:
    # h = 64, f = 4h = 256: up (and gate, for a gated unit) h x f, down f x h
    model = parse_model({**BASE, "activation": activation}, "t.toml")
    assert model.gated == (matrices == 3)
    assert mlp_params(model, 256) == matrices * 64 * 256


def test_squared_relu_and_geglu_parameter_counts() -> None:
    # squared ReLU (Primer): up h x f and down f x h; GeGLU: gate and up h x f, down f x h
    squared = parse_model({**BASE, "activation": "squared_relu"}, "t.toml")
    geglu = parse_model({**BASE, "activation": "geglu"}, "t.toml")
    assert mlp_params(squared, 256) == 64 * 256 + 256 * 64 == 32768
    assert mlp_params(geglu, 256) == 64 * 256 + 64 * 256 + 256 * 64 == 49152
    # per layer with attention 4h^2 = 16,384; two layers, embedding and output 100 -> 128 x 64
    # each, 2 x 2 + 1 norms of h
    for model, mlp in ((squared, 32768), (geglu, 49152)):
        assert total_params(model) == 2 * (16384 + mlp) + 2 * 128 * 64 + 5 * 64


def test_position_and_dropout_fields() -> None:
    plain = parse_model(dict(BASE), "t.toml")
    assert plain.position == "learned" and plain.dropout is True
    for position in ("learned", "rope", "alibi"):
        assert parse_model({**BASE, "position": position}, "t.toml").position == position
    assert parse_model({**BASE, "dropout": False}, "t.toml").dropout is False
    llama = load_model("llama3-8b")
    assert (llama.position, llama.dropout, llama.activation) == ("rope", False, "swiglu")
    assert load_model("bloom-176b").position == "alibi"
    assert load_model("opt-175b").activation == "relu"


@pytest.mark.parametrize("change, message", [
    ({"position": "sinusoidal"}, "position = 'sinusoidal' is not valid; valid: learned, rope, "
                                 "alibi"),
    ({"position": 1}, "position = 1 is not valid"),
    ({"dropout": "no"}, "dropout = 'no' must be true or false"),
    ({"dropout": 0}, "dropout = 0 must be true or false"),
    ({"activation": "SwiGLU"}, "activation = 'SwiGLU' is not valid"),
])
def test_bad_position_dropout_and_activation(change: dict, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_model({**BASE, **change}, "t.toml")
    assert message in str(info.value) and "\n" not in str(info.value)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(activation=st.one_of(st.sampled_from(ACTIVATIONS), st.text(max_size=12)),
       position=st.one_of(st.sampled_from(POSITIONS), st.text(max_size=12), st.integers()),
       dropout=st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.none()))
def test_model_fields_parse_or_fail_in_one_line(
    activation: str, position: object, dropout: object
) -> None:
    doc = {**BASE, "activation": activation, "position": position}
    if dropout is not None:
        doc["dropout"] = dropout
    valid = (activation in ACTIVATIONS and position in POSITIONS
             and (dropout is None or isinstance(dropout, bool)))
    try:
        model = parse_model(doc, "t.toml")
    except UserError as error:
        assert not valid and "\n" not in str(error)
    else:
        assert valid and model.gated == (activation in GATED_ACTIVATIONS)
        assert model.dropout == (True if dropout is None else dropout)
