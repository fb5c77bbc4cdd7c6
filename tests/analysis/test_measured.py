"""A hardware profile measured: a Run laid over the reference profile of its GPU."""

from __future__ import annotations

import json

import pytest

from exabench.analysis.measured import load_profile, profile_from_run
from exabench.errors import UserError
from exabench.workloads.profile import load_reference


def _run(device: str | None, results: list[dict]) -> dict:
    return {
        "schema": "exabench.run/1",
        "id": "run-1",
        "created": "2026-01-01T00:00:00Z",
        "config": {},
        "environment": {"gpu": {"devices": [{"name": device}] if device else []}},
        "results": results,
    }


def _result(suite: str, params: dict, metrics: dict) -> dict:
    return {"suite": suite, "name": suite, "params": params, "unit": "s", "samples": [1.0],
            "stats": {}, "metrics": metrics, "status": "ok"}


def test_profile_from_a_measured_run_overlays_the_reference() -> None:
    results = [
        _result("gemm", {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"}, {"tflops": 700.0}),
        _result("gemm", {"m": 1024, "n": 1024, "k": 1024, "dtype": "bf16"}, {"tflops": 300.0}),
        _result(
            "memory",
            {"kernel": "triad", "bytes": 1 << 30},
            {"gbps": 3000.0, "bytes_moved": 3 << 30},
        ),
        _result(
            "collectives",
            {"collective": "all_reduce", "bytes": 1 << 30, "nranks": 8},
            {"busbw_gbps": 450.0},
        ),
        _result(
            "collectives",
            {"collective": "all_gather", "bytes": 1 << 30, "nranks": 8},
            {"busbw_gbps": 350.0},
        ),
    ]
    p = profile_from_run(_run("NVIDIA H100 80GB HBM3", results))
    assert p.name == "h100-sxm" and p.run_id == "run-1"
    assert p.gemm_efficiency("bf16", 2 * 8192**3) == pytest.approx(
        0.85 * 700 / 989.4
    )  # square: off-optimum factor
    assert (
        p.provenance["gemm_efficiency"]["kind"] == "measured"
        and "run-1" in p.provenance["gemm_efficiency"]["source"]
    )
    assert p.provenance["hbm_efficiency"]["kind"] == "measured"
    assert p.nvlink_busbw("all_reduce", 1 << 30) == pytest.approx(450e9)
    assert p.nvlink_busbw("reduce_scatter", 1 << 30) == pytest.approx(350e9)
    # fp8 was not measured: the published curve stays
    assert p.gemm["fp8"] == load_reference("h100-sxm").gemm["fp8"]


def test_layer_gemms_count_as_measured_and_skinny_shapes_not_at_all() -> None:
    """A layer's own GEMMs (--model) are the shapes training runs: no off-optimum factor; decode
    shapes (--skinny) are memory-bound and stay out of the training curve."""
    results = [
        _result(
            "gemm",
            {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16", "label": "layer_mlp_up_bf16"},
            {"tflops": 700.0},
        ),
        _result(
            "gemm",
            {"m": 1024, "n": 1024, "k": 1024, "dtype": "bf16", "label": "layer_qkv_bf16"},
            {"tflops": 300.0},
        ),
        _result(
            "gemm",
            {"m": 1, "n": 8192, "k": 8192, "dtype": "bf16", "label": "skinny_m1_bf16"},
            {"tflops": 1.0},
        ),
    ]
    p = profile_from_run(_run("NVIDIA H100 80GB HBM3", results))
    assert p.gemm_efficiency("bf16", 2 * 8192**3) == pytest.approx(700 / 989.4)
    assert p.gemm_efficiency("bf16", 2 * 1024**3) == pytest.approx(300 / 989.4)
    assert p.gemm_efficiency("bf16", 2 * 8192**2) == pytest.approx(
        300 / 989.4
    )  # below the range: the end holds


def test_collectives_across_nodes_never_stand_for_nvlink() -> None:
    results = [
        _result(
            "collectives",
            {"collective": "all_reduce", "bytes": 1 << 30, "nranks": 16},
            {"busbw_gbps": 45.0},
        )
    ]
    run = _run("NVIDIA H100 80GB HBM3", results)
    run["config"] = {"ranks": [{"rank": r, "host": f"node{r // 8}"} for r in range(16)]}
    p = profile_from_run(run)
    ref = load_reference("h100-sxm")
    assert p.nvlink_busbw("all_reduce", 1 << 30) == ref.nvlink_busbw("all_reduce", 1 << 30)
    assert (
        p.provenance["nvlink_busbw"]["kind"] == "published"
        and "span 2 nodes" in p.provenance["nvlink_busbw"]["note"]
    )
    run["config"] = {"collectives_run": {"ranks": [{"rank": r, "host": "node0"} for r in range(8)]}}
    run["results"] = [
        _result(
            "collectives",
            {"collective": "all_reduce", "bytes": 1 << 30, "nranks": 8},
            {"busbw_gbps": 450.0},
        )
    ]
    assert profile_from_run(run).nvlink_busbw("all_reduce", 1 << 30) == pytest.approx(450e9)


def test_hbm_plateau_comes_from_streaming_kernels_beyond_l2_only() -> None:
    """Host and peer links, read-only dot, write-only fill and arrays that stay in L2 are other
    figures: only copy/scale/add/triad moving > 2 x L2 set the measured HBM plateau, and the
    reference's size fall-off is kept through it."""
    ref = load_reference("h100-sxm")
    gb = 1 << 30
    results = [
        _result("memory", {"kernel": "copy", "bytes": gb}, {"gbps": 2900.0, "bytes_moved": 2 * gb}),
        _result(
            "memory", {"kernel": "triad", "bytes": gb}, {"gbps": 3000.0, "bytes_moved": 3 * gb}
        ),
        _result(
            "memory", {"kernel": "scale", "bytes": gb}, {"gbps": 3100.0, "bytes_moved": 2 * gb}
        ),
        _result(
            "memory",
            {"kernel": "copy", "bytes": 8 << 20},
            {"gbps": 7000.0, "bytes_moved": 16 << 20},
        ),  # in L2
        _result("memory", {"kernel": "host_copy", "bytes": gb, "direction": "h2d"}, {"gbps": 55.0}),
        _result(
            "memory", {"kernel": "peer_copy", "bytes": gb, "direction": "d2d"}, {"gbps": 380.0}
        ),
        _result("memory", {"kernel": "dot", "bytes": gb}, {"gbps": 3200.0, "bytes_moved": 2 * gb}),
        _result("memory", {"kernel": "fill", "bytes": gb}, {"gbps": 1500.0, "bytes_moved": gb}),
    ]
    run = _run("NVIDIA H100 80GB HBM3", results)
    run["environment"]["gpu"]["devices"][0]["l2_bytes"] = 50 << 20
    p = profile_from_run(run)
    plateau = 3000.0 / 3350.0  # the median of copy 2900, triad 3000, scale 3100
    assert p.hbm(ref.hbm.xs[-1]) == pytest.approx(plateau)
    small = ref.hbm.xs[0]
    assert p.hbm(small) / ref.hbm(small) == pytest.approx(plateau / ref.hbm(ref.hbm.xs[-1]))
    assert "median of 3" in p.provenance["hbm_efficiency"]["source"]


def test_a_run_without_hbm_sized_stream_results_keeps_the_published_hbm_curve() -> None:
    results = [
        _result(
            "memory", {"kernel": "host_copy", "bytes": 1 << 30, "direction": "h2d"}, {"gbps": 55.0}
        )
    ]
    p = profile_from_run(_run("NVIDIA H100 80GB HBM3", results))
    assert (
        p.hbm == load_reference("h100-sxm").hbm
        and p.provenance["hbm_efficiency"]["kind"] == "published"
    )


def test_one_gemm_point_scales_the_reference_shape() -> None:
    ref = load_reference("h100-sxm")
    results = [
        _result("gemm", {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"}, {"tflops": 600.0})
    ]
    p = profile_from_run(_run("NVIDIA H100 80GB HBM3", results))
    x = 2 * 8192**3
    assert p.gemm_efficiency("bf16", x) == pytest.approx(0.85 * 600 / 989.4)
    ratio = p.gemm_efficiency("bf16", 1e9) / ref.gemm_efficiency("bf16", 1e9)
    assert ratio == pytest.approx(p.gemm_efficiency("bf16", x) / ref.gemm_efficiency("bf16", x))


def test_a_cpu_run_never_passes_for_a_gpu(tmp_path) -> None:
    run = _run(
        None, [_result("gemm", {"m": 64, "n": 64, "k": 64, "dtype": "fp32"}, {"tflops": 0.1})]
    )
    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(run))
    p = load_profile(str(path))
    assert p.name == "h100-sxm" and p.run_id == "run-1"
    assert all(
        v["kind"] == "published" and "matches no shipped GPU" in v["note"]
        for v in p.provenance.values()
    )


def test_bad_hardware_inputs(tmp_path) -> None:
    with pytest.raises(UserError, match="unknown hardware"):
        load_profile("tpu-v9")
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(UserError, match="not a Run document"):
        load_profile(str(bad))
    toml = tmp_path / "gpu.toml"
    toml.write_text(
        "[peak_tflops]\nbf16 = 100.0\n[memory]\ncapacity_gb = 10.0\nhbm_bandwidth_gbps = 100.0\n"
    )
    with pytest.raises(UserError, match="needs a \\[gemm_efficiency\\] table"):
        load_profile(str(toml))


# --- measured Runs that ship (workloads/measured/) -------------------------------------------

def _ship(folder, run_id: str, created: str, device: str | None, tflops: float) -> None:
    run = _run(
        device,
        [_result("gemm", {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"}, {"tflops": tflops})],
    )
    run.update(id=run_id, created=created, environment={**run["environment"], "fingerprint": "fp"})
    (folder / f"{run_id}.json").write_text(json.dumps(run))


def test_name_measured_is_the_newest_shipped_run_on_that_gpu(tmp_path, monkeypatch) -> None:
    from exabench.workloads import profile

    monkeypatch.setattr(profile, "MEASURED_DIR", tmp_path)
    _ship(tmp_path, "old", "2026-01-01T00:00:00Z", "NVIDIA H100 80GB HBM3", 600.0)
    _ship(tmp_path, "new", "2026-06-01T00:00:00Z", "NVIDIA H100 80GB HBM3", 700.0)
    _ship(tmp_path, "cpu", "2026-07-01T00:00:00Z", None, 0.1)  # no GPU: never a measured profile
    p = load_profile("h100-sxm-measured")
    assert (
        p.name == "h100-sxm" and p.run_id == "new + old"
    )  # one machine (fingerprint): counted together
    assert p.gemm_efficiency("bf16", 2 * 8192**3) == pytest.approx(
        0.85 * 650 / 989.4
    )  # the two averaged
    other = json.loads((tmp_path / "old.json").read_text())
    other["environment"]["fingerprint"] = "another-machine"
    (tmp_path / "old.json").write_text(json.dumps(other))
    assert load_profile("h100-sxm-measured").run_id == "new"
    assert p.provenance["gemm_efficiency"]["kind"] == "measured"
    assert [(name, run["id"]) for name, run in profile.shipped_measured()] == [
        ("h100-sxm", "new"),
        ("h100-sxm", "old"),
    ]
    with pytest.raises(
        UserError, match=r"no measured Run ships for h200-sxm yet \(h100-sxm-measured\)"
    ):
        load_profile("h200-sxm-measured")


def test_plan_on_a_shipped_measured_profile_says_so(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from exabench.cli import cli
    from exabench.workloads import profile

    monkeypatch.setattr(profile, "MEASURED_DIR", tmp_path)
    _ship(tmp_path, "h100run", "2026-06-01T00:00:00Z", "NVIDIA H100 80GB HBM3", 700.0)
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            "--model",
            "llama3-8b",
            "--hardware",
            "h100-sxm-measured",
            "--gpus",
            "8",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    hardware = json.loads(result.output)["inputs"]["hardware"]
    assert (
        hardware["run_id"] == "h100run"
        and hardware["provenance"]["gemm_efficiency"]["kind"] == "measured"
    )
    listed = CliRunner().invoke(cli, ["catalog", "--format", "json"])
    assert [m["name"] for m in json.loads(listed.output)["measured"]] == ["h100-sxm-measured"]


def test_every_shipped_measured_run_is_a_gpu_run_a_profile_matches() -> None:
    """What a GPU session commits under workloads/measured/ must load and overlay its profile."""
    from exabench.workloads import profile

    paths = sorted(profile.MEASURED_DIR.glob("*.json"))
    if not paths:
        pytest.skip("no measured Run ships yet (no session has been lent a GPU)")
    assert len(profile.shipped_measured()) == len(paths)  # every one is on a GPU a profile matches
    for name, run in profile.shipped_measured():
        p = load_profile(f"{name}-measured")
        assert any(v["kind"] == "measured" for v in p.provenance.values()), run.get("id")


def _multinode_run(sizes_mb: list[float], busbw: float = 42.0) -> dict:
    results = [
        _result(
            "collectives",
            {"collective": "all_reduce", "bytes": int(mb * 1e6), "nranks": 16},
            {"busbw_gbps": busbw * (1 + 0.01 * i)},
        )
        for i, mb in enumerate(sizes_mb)
    ]
    run = _run("NVIDIA H100 80GB HBM3", results)
    run["config"] = {"ranks": [{"rank": r, "host": f"node{r // 8}"} for r in range(16)]}
    return run


def test_a_multinode_all_reduce_plateau_is_the_measured_scaleout_bandwidth() -> None:
    p = profile_from_run(_multinode_run([1, 16, 64, 256, 1024]))
    # Median of the three sizes >= 64 MB (42 x 1.02, 1.03, 1.04); the latency-bound sizes stay out.
    assert p.scaleout_gbps == pytest.approx(42.0 * 1.03) and p.scaleout_span_gpus == 16
    prov = p.provenance["scaleout_busbw"]
    assert (
        prov["kind"] == "measured"
        and "over 2 nodes (16 ranks; median of 3 sizes >= 64 MB)" in prov["source"]
    )


def test_a_multinode_sweep_short_of_the_plateau_keeps_the_nic_model() -> None:
    p = profile_from_run(_multinode_run([0.001, 0.032, 1]))  # the quick suite's sizes
    assert p.scaleout_gbps is None and p.scaleout_span_gpus == 0
    assert p.provenance["scaleout_busbw"]["kind"] == "published"
    assert (
        "below the 64 MB plateau: rerun with --max-bytes 1G" in p.provenance["scaleout_busbw"][
            "source"
        ]
    )
    one_node = _multinode_run([256, 1024])
    one_node["config"] = {"ranks": [{"rank": r, "host": "node0"} for r in range(16)]}
    assert (
        profile_from_run(one_node).scaleout_gbps is None
        and "scaleout_busbw" not in profile_from_run(one_node).provenance
    )
    assert load_reference("h100-sxm").scaleout_gbps is None
