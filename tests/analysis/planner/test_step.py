from __future__ import annotations

from dataclasses import replace

import pytest

from exabench.analysis.planner.compute import layer_time
from exabench.analysis.planner.layout import Layout
from exabench.analysis.planner.memory import memory_per_gpu, stage_params
from exabench.analysis.planner.step import (
    BREAKDOWN_KEYS,
    COMM_SM_SHARE,
    Context,
    _dp_time,
    _layer_costs,
    _stage_costs,
    evaluate,
    fits,
    hidden_cost,
    layer_ops_section,
    tp_exposed,
)
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference

CTX = Context(load_model("llama3-70b"), load_reference("h100-sxm"), load_cluster("meta-24k-roce"))
LO = Layout(
    tp=8, pp=4, vp=2, dp=8, mbs=1, global_batch=256, seq=8192, zero=1, recompute="selective"
)


def test_breakdown_sums_to_the_step_and_mfu_follows_the_convention() -> None:
    r = evaluate(CTX, LO)
    assert set(r["breakdown_s"]) == set(BREAKDOWN_KEYS)
    assert sum(r["breakdown_s"].values()) == pytest.approx(r["step_time_s"])
    tokens = 256 * 8192
    flops = CTX.flops("model", 8192) * tokens
    assert r["mfu"] == pytest.approx(flops / r["step_time_s"] / 256 / 989.4e12)
    assert r["tokens_per_s_per_gpu"] == pytest.approx(tokens / r["step_time_s"] / 256)
    assert r["hfu"] > r["mfu"]  # selective recompute repeats the attention core


def test_bubble_is_p_minus_1_over_v_m_of_the_ideal_time() -> None:
    r = evaluate(CTX, LO)
    b = r["breakdown_s"]
    ideal = sum(b[k] for k in ("compute", "tp_comm", "cp_comm", "ep_comm", "pp_comm"))
    assert b["bubble"] / ideal == pytest.approx((4 - 1) / (2 * 32))


def test_physics_moves_the_right_way() -> None:
    base = evaluate(CTX, LO)["step_time_s"]
    assert evaluate(CTX, replace(LO, recompute="full"))["step_time_s"] > base
    assert evaluate(CTX, replace(LO, precision="fp8"))["step_time_s"] < base
    assert (
        evaluate(CTX, replace(LO, vp=1))["breakdown_s"]["bubble"]
        > evaluate(CTX, LO)["breakdown_s"]["bubble"]
    )
    no_overlap = evaluate(CTX, replace(LO, overlap_dp=False))["breakdown_s"]["dp_comm"]
    assert no_overlap >= evaluate(CTX, LO)["breakdown_s"]["dp_comm"] > 0


def test_moe_layers_pay_all_to_all_and_single_gpu_has_no_comm() -> None:
    mixtral = Context(
        load_model("mixtral-8x7b"), load_reference("h100-sxm"), load_cluster("colossus-100k")
    )
    r = evaluate(mixtral, Layout(tp=2, pp=1, ep=8, dp=64, global_batch=512, seq=4096, zero=1))
    assert r["breakdown_s"]["ep_comm"] > 0
    one = Context(load_model("llama3-8b"), load_reference("h100-sxm"), load_cluster("dgx-h100"))
    r1 = evaluate(one, Layout(global_batch=4, seq=2048, zero=0))
    assert all(
        r1["breakdown_s"][k] == 0
        for k in ("tp_comm", "pp_comm", "dp_comm", "bubble", "cp_comm", "ep_comm")
    )


# --- overlaps, hand-computed on a toy model on one DGX H100 --------------------------------------

H100 = load_reference("h100-sxm")
SHARE = 16 / 132
"""The SMs an overlapped NCCL collective holds (16 channels of an H100's 132 SMs)."""
RING = H100.nvlink_ring.ys[0] * 1e9
"""NVLink reduce-scatter / all-gather / all-to-all bus bandwidth below 1 MB (the curve's first
point, 34 GB/s: every toy message here is smaller)."""
ALL_REDUCE = H100.nvlink_all_reduce.ys[0] * 1e9
TOY_TOML = 'name = "toy"\nlayers = 2\nhidden = 64\nheads = 4\nvocab = 128\nseq_len = 16\n'
TOY_PARAMS = 2 * (4 * 64 * 64 + 2 * 64) + 2 * (2 * 64 * 256) + 2 * 128 * 64
"""Per layer: attention 4h^2 and two norms 2h, GeLU MLP 2 h (4h); the embedding and the untied
output layer V h each (vocab 128, already a multiple of 128): 114,944."""


def exposed(comm: float, window: float) -> float:
    """What sticks out of ``window``, plus the hidden part's SM share."""
    hidden = min(comm, window)
    return comm - hidden + hidden * SHARE


@pytest.fixture
def toy_ctx(tmp_path) -> Context:
    path = tmp_path / "toy.toml"
    path.write_text(TOY_TOML)
    return Context(load_model(str(path)), H100, load_cluster("dgx-h100"))


def test_hidden_cost_and_tp_exposed_by_hand() -> None:
    assert COMM_SM_SHARE == SHARE
    # 10 ms of communication under 4 ms of compute: 6 ms stick out, the 4 ms hidden slow the
    # compute by 16/132 of it
    assert hidden_cost(10e-3, 4e-3) == pytest.approx(6e-3 + 4e-3 * 16 / 132)
    assert hidden_cost(3e-3, 10e-3) == pytest.approx(3e-3 * 16 / 132)
    assert hidden_cost(3e-3, 0.0) == 3e-3
    # TP 4: the first of 4 chunks (2 of 8 ms) is exposed, the other 6 ms hide behind 100 ms of
    # GEMMs; behind 1 ms, 5 ms stick out
    assert tp_exposed(8e-3, 100e-3, 4) == pytest.approx(2e-3 + 6e-3 * 16 / 132)
    assert tp_exposed(8e-3, 1e-3, 4) == pytest.approx(2e-3 + 5e-3 + 1e-3 * 16 / 132)


def test_dp_bucketed_exposure_of_a_toy_model(toy_ctx: Context) -> None:
    p = TOY_PARAMS
    assert stage_params(toy_ctx.model, Layout(), 0) == (p, 0.0)
    assert p * 4 < 1e6  # all of it below the curve's first point

    def ring(nbytes: float) -> float:  # one reduce-scatter / all-gather over the 8 GPUs
        return 7 / 8 * nbytes / RING

    grads, params = ring(4 * p), ring(2 * p)  # fp32 gradients, bf16 parameters
    # 0.1 MB buckets: the last gradient bucket and the first parameter bucket are exposed
    last, first = ring(0.1e6), ring(0.1e6 / 2)
    lo = Layout(dp=8, zero=1, global_batch=8, seq=16, dp_bucket_mb=0.1)
    assert _dp_time(toy_ctx, lo, 0, 1.0, 1.0, 1) == pytest.approx(
        last + (grads - last) * SHARE + first + (params - first) * SHARE)
    # windows shorter than the rest: what doesn't fit sticks out
    bwd, fwd = 2e-6, 1e-6
    assert grads - last > bwd and params - first > fwd
    assert _dp_time(toy_ctx, lo, 0, fwd, bwd, 1) == pytest.approx(
        last + (grads - last - bwd) + bwd * SHARE + first + (params - first - fwd) + fwd * SHARE)
    # no window: all of it
    assert _dp_time(toy_ctx, lo, 0, 0.0, 0.0, 1) == pytest.approx(grads + params)
    # dp_bucket_mb 0: one layer per bucket (half of the two-layer model)
    per_layer = replace(lo, dp_bucket_mb=0.0)
    assert _dp_time(toy_ctx, per_layer, 0, 1.0, 1.0, 1) == pytest.approx(
        grads / 2 + grads / 2 * SHARE + params / 2 + params / 2 * SHARE)
    # a bucket larger than the gradients: nothing overlaps
    assert _dp_time(toy_ctx, replace(lo, dp_bucket_mb=10.0), 0, 1.0, 1.0, 1) == pytest.approx(
        grads + params)
    assert _dp_time(toy_ctx, replace(lo, overlap_dp=False), 0, 1.0, 1.0, 1) == pytest.approx(
        grads + params)
    # ZeRO-0: one all-reduce (2 (n-1)/n), no parameter gather
    ddp = replace(lo, zero=0, overlap_dp=False)
    assert _dp_time(toy_ctx, ddp, 0, 1.0, 1.0, 1) == pytest.approx(2 * 7 / 8 * 4 * p / ALL_REDUCE)


def test_zero3_prefetch_exposes_one_layer_s_gather_each_way(toy_ctx: Context) -> None:
    p = TOY_PARAMS
    gather, scatter = 7 / 8 * 2 * p / RING, 7 / 8 * 4 * p / RING  # two layer-sized units each
    one = gather / 2
    lo = Layout(dp=8, zero=3, global_batch=24, seq=16)
    fwd, bwd, m = 1e-6, 3e-6, 3
    assert _dp_time(toy_ctx, lo, 0, fwd, bwd, m) == pytest.approx(
        m * (2 * one + exposed(gather - one, fwd) + exposed(gather - one + scatter, bwd)))
    no_prefetch = replace(lo, fsdp_prefetch=False)
    assert _dp_time(toy_ctx, no_prefetch, 0, fwd, bwd, m) == pytest.approx(
        m * (2 * gather + exposed(scatter, bwd)))
    assert _dp_time(toy_ctx, replace(lo, overlap_dp=False), 0, fwd, bwd, m) == pytest.approx(
        m * (2 * gather + scatter))


def test_tp_overlap_switch(toy_ctx: Context) -> None:
    lo = Layout(tp=2, dp=4, seq=16, global_batch=8, recompute="selective")
    act = 16 * 64 * 2  # one micro-batch's activations, bf16
    # SP: 2 all-gathers + 2 reduce-scatters over 2 ranks ((n-1)/n = 1/2) forward and backward
    tp = 2 * (1 / 2 * act / RING + 1 / 2 * act / RING) * 2
    assert _layer_costs(toy_ctx, False, lo)["tp_comm"] == pytest.approx(tp)
    lt = toy_ctx.layer(False, lo)
    window = lt.gemm_fwd + lt.gemm_bwd
    on = replace(lo, tp_comm_overlap=True)
    assert _layer_costs(toy_ctx, False, on)["tp_comm"] == pytest.approx(
        tp / 2 + exposed(tp / 2, window))
    # full recompute: a third pass, and 1.5 forward GEMMs in the window
    full = replace(on, recompute="full")
    assert _layer_costs(toy_ctx, False, full)["tp_comm"] == pytest.approx(
        1.5 * tp / 2 + exposed(1.5 * tp / 2, 1.5 * lt.gemm_fwd + lt.gemm_bwd))


def test_cp_ring_overlap_switch(toy_ctx: Context) -> None:
    lo = Layout(cp=4, dp=2, seq=16, global_batch=4, cp_comm_overlap=False)
    # K and V of one 4-token chunk: 4 heads x (16 + 16) x 2 bytes, sent cp - 1 = 3 times
    send = 4 * 4 * (16 + 16) * 2 / (H100.p2p_gbps * 1e9) + 5e-6  # NVLink P2P + 5 us latency
    ring = 3 * send
    assert toy_ctx.cluster.network.latency_us == 5.0
    assert _layer_costs(toy_ctx, False, lo)["cp_comm"] == pytest.approx(3 * ring)
    lt = toy_ctx.layer(False, lo)
    on = replace(lo, cp_comm_overlap=True)
    assert _layer_costs(toy_ctx, False, on)["cp_comm"] == pytest.approx(
        max(send, ring - lt.attn_fwd) + max(2 * send, 2 * ring - lt.attn_bwd))


def test_ep_all_to_all_overlap_switch(tmp_path) -> None:
    path = tmp_path / "toy-moe.toml"
    path.write_text(TOY_TOML + "[moe]\nexperts = 4\ntop_k = 2\nexpert_ffn_hidden = 64\n")
    ctx = Context(load_model(str(path)), H100, load_cluster("dgx-h100"))
    lo = Layout(ep=2, dp=2, seq=16, global_batch=2, recompute="selective")
    # dispatch and combine, forward and backward: 4 all-to-alls of 16 tokens x 2 experts x h
    ep = 4 * (1 / 2) * (16 * 2 * 64 * 2) / RING
    assert _layer_costs(ctx, True, lo)["ep_comm"] == pytest.approx(ep)
    lt = ctx.layer(True, lo)
    assert lt.fwd + lt.bwd > ep
    on = replace(lo, ep_comm_overlap=True)
    assert _layer_costs(ctx, True, on)["ep_comm"] == pytest.approx(ep * SHARE)


def test_pp_send_overlap_switch(toy_ctx: Context) -> None:
    lo = Layout(pp=2, dp=4, seq=16, global_batch=8)  # 2 micro-batches of 1 sequence
    # each TP rank sends 16 tokens x h bf16 to a stage 4 ranks away, in the same node
    send = 16 * 64 * 2 / (H100.p2p_gbps * 1e9) + 5e-6
    # activations forward and gradients back, per micro-batch
    assert _stage_costs(toy_ctx, lo, 0, [1, 1])["pp_comm"] == pytest.approx(2 * send)
    # overlapped: only the first and last sends of the step, spread over its 2 micro-batches
    on = replace(lo, pp_comm_overlap=True)
    assert _stage_costs(toy_ctx, on, 0, [1, 1])["pp_comm"] == pytest.approx(2 * send / 2)


def test_layer_ops_section_adds_up(toy_ctx: Context) -> None:
    lo = Layout(dp=8, seq=16, global_batch=8)
    section = layer_ops_section(toy_ctx, lo, 0)
    assert section["stage"] == 0 and section["moe"] is False
    assert [o["name"] for o in section["ops"]][:4] == ["qkv", "attn_out", "mlp_up", "mlp_down"]
    busy = sum(o["fwd_s"] + o["bwd_s"] for o in section["ops"])
    assert section["total_s"] == pytest.approx(busy + section["launch_s"])
    assert evaluate(toy_ctx, lo)["layer_ops"] == section


def test_fits_allows_the_tight_margin_only_when_asked(toy_ctx: Context) -> None:
    lo = Layout(dp=8, seq=16, global_batch=8)
    mem = memory_per_gpu(toy_ctx.model, lo, 80.0)
    total = mem["gib_per_gpu"]
    bare = total - mem["parts"]["fragmentation"]
    toy_ctx.capacity_gib = bare  # over capacity only by the fragmentation margin: tight
    assert fits(toy_ctx, lo, allow_tight=True) == (True, pytest.approx(total))
    assert fits(toy_ctx, lo, allow_tight=False)[0] is False
    toy_ctx.capacity_gib = total
    assert fits(toy_ctx, lo, allow_tight=False)[0] is True
    toy_ctx.capacity_gib = bare * (1 - 1e-9)
    assert fits(toy_ctx, lo, allow_tight=True)[0] is False


@pytest.mark.parametrize("change", [{"attention_kernel": "fa3"}, {"fused_elementwise": False},
                                    {"cuda_graphs": False}])
def test_the_layer_cache_tells_kernels_fusions_and_graphs_apart(
    toy_ctx: Context, change: dict
) -> None:
    """A layout that differs only in a framework knob the layer's time depends on gets its own
    time from a Context that has already priced the first (graphed, so that the toy layer is
    not waiting on the host, whose dispatch time would hide the kernels' own)."""
    lo = Layout(dp=8, seq=4096, global_batch=8, cuda_graphs=True)
    first = toy_ctx.layer(False, lo)
    other = replace(lo, **change)
    fresh = layer_time(toy_ctx.model, False, other, H100)
    assert fresh.fwd + fresh.bwd != pytest.approx(first.fwd + first.bwd)
    assert toy_ctx.layer(False, other) == fresh
