"""`exabench bench` down its CUDA branches on a machine without a GPU.

A simulated ``torch.cuda`` answers as one H100 SXM would (name, properties, capability,
memory, events, the spin kernel) while every tensor stays on the CPU, and a fake NVML answers
as its driver would. What this checks is the wiring a real GPU run goes through and CI
otherwise never executes: device resolution, the event timer, peaks and ``pct_of_peak`` from
the H100 profile, telemetry windows and per-call throttle flags, NVML-to-CUDA pairing by
UUID, the table and the Run. It says nothing about speed or kernels: that needs the GPU.
"""

from __future__ import annotations

import contextlib
import time
from types import SimpleNamespace

import pytest

from exabench.bench.device import Device
from exabench.cli import main
from exabench.documents.run import load_run

H100_UUID = "6b1c1f8e-0a2b-4c3d-9e4f-5a6b7c8d9e0f"
H100 = SimpleNamespace(
    name="NVIDIA H100 80GB HBM3",
    total_memory=85_520_809_984,
    multi_processor_count=132,
    L2_cache_size=1 << 20,  # small, so the CPU's flush buffer stays cheap
    major=9,
    minor=0,
    uuid=H100_UUID,
)


class _HostTimedEvent:
    """A CUDA event whose timestamp is the host clock: on CPU tensors every op is synchronous,
    so the span between two events is the op's time."""

    def __init__(self, enable_timing: bool = False) -> None:
        self.t = 0.0

    def record(self, stream=None) -> None:
        self.t = time.perf_counter()

    def elapsed_time(self, end: _HostTimedEvent) -> float:
        return (end.t - self.t) * 1e3


class _FakeNvml:
    """The NVML calls exabench makes, answered for one H100 that power-caps when told to."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU = 1, 2, 0

    def __init__(self) -> None:
        self.reasons = 0
        self.energy_mj = 5_000_000

    def nvmlInit(self): pass
    def nvmlShutdown(self): pass
    def nvmlSystemGetDriverVersion(self): return "580.95.05"
    def nvmlDeviceGetCount(self): return 2  # another board this process doesn't use
    def nvmlDeviceGetHandleByIndex(self, i): return f"h{i}"

    def nvmlDeviceGetHandleByUUID(self, uuid):
        assert uuid == f"GPU-{H100_UUID}", uuid
        return "h1"

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{H100_UUID}" if h == "h1" else "GPU-00000000-0000-0000-0000-000000000000"

    def nvmlDeviceGetName(self, h): return b"NVIDIA H100 80GB HBM3"
    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=b"00000000:1B:00.0" if h == "h1" else b"00000000:0A:00.0")

    def nvmlDeviceGetEnforcedPowerLimit(self, h): return 700_000
    def nvmlDeviceGetPowerUsage(self, h): return 650_000
    def nvmlDeviceGetClockInfo(self, h, kind): return 1980 if kind == 1 else 2619
    def nvmlDeviceGetTemperature(self, h, sensor): return 61
    def nvmlDeviceGetUtilizationRates(self, h): return SimpleNamespace(gpu=100, memory=70)
    def nvmlDeviceGetCurrentClocksEventReasons(self, h): return self.reasons

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        self.energy_mj += 1000
        return self.energy_mj


class _Stream:
    """A CUDA stream on the CPU: work runs as it is issued, so every wait is already met."""

    def __init__(self, device=None) -> None:
        self.cuda_stream = 0

    def wait_event(self, event) -> None: pass
    def wait_stream(self, stream) -> None: pass


@pytest.fixture
def fake_gpu(monkeypatch):
    import sys

    import torch

    nvml = _FakeNvml()
    cuda = torch.cuda
    for name, value in {
        "is_available": lambda: True,
        "device_count": lambda: 1,
        "set_device": lambda i: None,
        "current_device": lambda: 0,
        "get_device_name": lambda i=0: H100.name,
        "get_device_properties": lambda i=0: H100,
        "get_device_capability": lambda i=0: (9, 0),
        "mem_get_info": lambda i=0: (80 << 30, H100.total_memory),
        "synchronize": lambda i=None: None,
        "empty_cache": lambda: None,
        "Event": _HostTimedEvent,
        "_sleep": lambda cycles: None,
        "Stream": _Stream,
        "current_stream": lambda device=None: _Stream(),
        "stream": lambda s: contextlib.nullcontext(),
    }.items():
        monkeypatch.setattr(cuda, name, value)
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: self.clone())
    monkeypatch.setattr(Device, "torch_device", property(lambda self: torch.device("cpu")))
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    return nvml


def _bench(args: list[str], tmp_path, capsys) -> tuple[int, str, dict]:
    with pytest.raises(SystemExit) as info:
        main([
            "bench",
            *args,
            "--device",
            "cuda",
            "--out",
            str(tmp_path),
            "--warmup-ms",
            "1",
            "--rep-ms",
            "3",
        ])
    out, err = capsys.readouterr()
    (path,) = tmp_path.glob("*.json")
    return info.value.code, out + err, load_run(path)


def test_gemm_down_the_cuda_branches(fake_gpu, tmp_path, capsys, monkeypatch) -> None:
    from exabench.bench.gemm import prewarm

    monkeypatch.setattr(
        prewarm, "GPU_SHAPE", (64, "bf16")
    )  # the GPU's 8192 bf16 would take minutes here
    code, text, run = _bench(
        [
            "gemm",
            "--sizes",
            "64",
            "--dtype",
            "fp32,tf32,bf16,fp8,int8",
            "--prewarm-s",
            "0.2",
            "--floor",
            "gemm_bf16=0",
        ],
        tmp_path,
        capsys,
    )
    assert code == 0, text
    (warm,) = run["prewarm"]
    assert warm["dtype"] == "bf16" and warm["calls"] >= 1 and warm["seconds"] >= 0.2
    assert run["config"]["device"] == "cuda:0"
    results = {r["params"]["dtype"]: r for r in run["results"]}
    assert set(results) == {"fp32", "tf32", "bf16", "fp8", "int8"}
    assert all(r["status"] == "ok" for r in results.values()), [
        r.get("error") for r in results.values()
    ]
    bf16 = results["bf16"]
    assert bf16["metrics"]["peak_tflops"] == pytest.approx(989.4, rel=1e-3)
    assert bf16["metrics"]["peak_source"] == "workloads/hardware/h100-sxm.toml"
    assert bf16["metrics"]["pct_of_peak"] == pytest.approx(
        100 * bf16["metrics"]["tflops"] / 989.4, rel=1e-6
    )
    assert results["fp8"]["metrics"]["peak_tflops"] > bf16["metrics"]["peak_tflops"]
    assert bf16["timing"]["flush"] == "l2" and not bf16["timing"]["cuda_graph"]
    # Telemetry from the (fake) board this process uses, found by UUID, not NVML index 0.
    tel = bf16["telemetry"]
    assert (
        tel["power_mean_w"] > 0
        and tel["throttled_timings"] == []
        and tel["energy_source"] == "nvml_total_energy"
    )
    assert run["telemetry"]["device"] == "NVIDIA H100 80GB HBM3"
    gpu = run["environment"]["gpu"]
    assert gpu["count"] == 1 and gpu["node_count"] == 2 and gpu["cuda_visible_devices"] == "1"
    (device,) = gpu["devices"]
    assert (
        device["nvml_index"] == 1
        and device["pci_bus_id"] == "00000000:1B:00.0"
        and device["sm_count"] == 132
    )
    assert run["floors"][0]["ok"] and "# floor gemm_bf16:tflops" in text
    assert "5 ok, 0 failed (0 wrong), 0 skipped" in text


def test_memory_down_the_cuda_branches_flags_power_capped_calls(fake_gpu, tmp_path, capsys) -> None:
    fake_gpu.reasons = 0x4  # SwPowerCap from the start: every timed call was capped
    code, text, run = _bench(
        ["memory", "--kernels", "copy,triad,dot", "--sizes", "1Mi", "--backend", "torch"],
        tmp_path,
        capsys,
    )
    assert code == 0, text
    triad = next(r for r in run["results"] if r["name"] == "triad")
    assert triad["status"] == "ok" and triad["metrics"]["peak_gbps"] == pytest.approx(3350.0)
    assert triad["telemetry"]["throttle_reasons"] == ["SwPowerCap"]
    assert triad["telemetry"]["throttled_timings"] == list(range(len(triad["samples"])))
    assert "unthrottled_median_s" not in triad["telemetry"] and "THROTTLED" in text
    assert triad["telemetry"]["j_per_gb"] > 0


def test_env_names_the_board_this_process_uses(fake_gpu, capsys) -> None:
    import json

    with pytest.raises(SystemExit) as info:
        main(["env", "--json"])
    gpu = json.loads(capsys.readouterr().out)["gpu"]
    assert info.value.code == 0 and gpu["driver"] == "580.95.05"
    assert [
        (d["index"], d["nvml_index"], d["uuid"], d["power_limit_w"]) for d in gpu["devices"]
    ] == [(0, 1, f"GPU-{H100_UUID}", 700.0)]
    with pytest.raises(SystemExit) as info:
        main(["env"])
    text = capsys.readouterr().out
    assert info.value.code == 0 and "NVIDIA H100 80GB HBM3" in text
    assert (
        "1 of 2 on this node (CUDA_VISIBLE_DEVICES=1)" in text
        and f"board 1 GPU-{H100_UUID}" in text
    )


def test_host_links_down_the_cuda_branches(fake_gpu, tmp_path, capsys) -> None:
    """Pinned and pageable copies, one way and both at once on two streams (fork_join)."""
    code, text, run = _bench(["memory", "--kernels", "host", "--sizes", "1Mi"], tmp_path, capsys)
    assert code == 0, text
    by_name = {r["name"]: r for r in run["results"]}
    assert set(by_name) == {
        f"{d}_{m}" for d in ("h2d", "d2h", "both") for m in ("pinned", "pageable")
    }
    assert all(r["status"] == "ok" and r["check"]["ok"] for r in by_name.values())
    both = by_name["both_pinned"]
    assert both["metrics"]["bytes_moved"] == 2 << 20
    assert both["metrics"]["gbps_per_direction"] == pytest.approx(both["metrics"]["gbps"] / 2)
    assert both["metrics"]["peak_gbps"] == pytest.approx(
        2 * by_name["h2d_pinned"]["metrics"]["peak_gbps"]
    )


def test_collectives_rank_down_the_cuda_branches(fake_gpu, tmp_path, monkeypatch) -> None:
    """One rank's sweep as NCCL would run it (events per operation, the device synchronised),
    on a world of one over gloo with CPU buffers: the rank record, the timer, the check, the Run."""
    import socket

    import torch
    import torch.distributed as dist

    from exabench.bench.collectives import driver as colldriver
    from exabench.bench.collectives import sweep as collrun
    from exabench.bench.collectives.launch import Session, World
    from exabench.bench.collectives.spec import build_spec
    from exabench.bench.sweeps import CollectiveSweep

    monkeypatch.setattr(collrun, "_device", lambda spec, session: torch.device("cpu"))
    monkeypatch.setattr(
        colldriver, "start_watchdog", lambda *args: None
    )  # it would outlive the test
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world = World(
        rank=0,
        size=1,
        local_rank=0,
        local_size=1,
        master_addr="127.0.0.1",
        master_port=port,
        agent_store=False,
    )
    sweep = CollectiveSweep(collectives=("all_reduce", "all_gather", "sendrecv"), min_bytes=1024,
                            max_bytes=4096, iters=3, warmup_iters=1)
    spec = build_spec(sweep, "cuda", quick=False)
    session = Session(world, "gloo", 30.0)
    try:
        code, message, path = colldriver.run_on_session(
            session, spec, out_dir=str(tmp_path), quiet=True
        )
    finally:
        dist.destroy_process_group()
    assert code == 0, message
    run = load_run(path)
    (rank,) = run["config"]["ranks"]
    assert rank["device"] == "cuda:0" and rank["gpu"] == "NVIDIA H100 80GB HBM3"
    results = [r for r in run["results"] if r["status"] == "ok"]
    assert {r["name"] for r in results} == {"all_reduce", "all_gather", "sendrecv"}
    assert all(r["metrics"]["wrong"] == 0 and len(r["samples"]) == 3 for r in results)
    # nccl-tests' own measure beside the per-operation one: first start to last end, over the count.
    assert all(r["metrics"]["algbw_gbps_avg"] > 0 and r["ranks"]["batch_s"][0] > 0 for r in results)
    # The NCCL of torch's build: none in a CPU build, the version a CUDA (or ROCm) build links.
    nccl = torch.cuda.nccl.version() if dist.is_nccl_available() else None
    assert run["environment"]["topology"]["nccl"] == (
        ".".join(str(part) for part in nccl) if nccl else None
    )


def test_cuda_graph_refuses_only_cupys_gemm(fake_gpu, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([
            "bench",
            "gemm",
            "--device",
            "cuda",
            "--backend",
            "cupy",
            "--cuda-graph",
            "--out",
            str(tmp_path),
        ])
    assert (
        info.value.code == 2
        and "--cuda-graph times GEMMs with --backend torch only" in capsys.readouterr().err
    )
    # cupy's STREAM kernels launch on torch's stream, so the memory suite may capture them.
    code, text, run = _bench(
        ["memory", "--kernels", "triad", "--sizes", "1Mi", "--backend", "cupy", "--cuda-graph"],
        tmp_path,
        capsys,
    )
    assert code == 0, text
    assert run["results"][0]["status"] in ("ok", "skipped")  # skipped where cupy is not installed


def test_main_job_plans_on_the_run_a_simulated_h100_measured(
    fake_gpu, tmp_path, monkeypatch, capsys
) -> None:
    """`exabench run` bench, plan, report on an "H100" that is this CPU: its measured curves are
    far too slow (0.07 TFLOP/s of bf16), and the main job must still plan on them (115,000 days)
    and say they are measured, not fall back to the published H100."""
    import json
    from dataclasses import replace

    from exabench.bench import suites
    from exabench.bench.gemm import prewarm, shapes
    from exabench.bench.memory import hostlinks
    from exabench.bench.memory import stream as memory

    monkeypatch.setattr(shapes, "QUICK_GPU_SIZES", (64, 128))
    monkeypatch.setattr(
        memory, "QUICK_GPU_SIZES", (4 << 20, 16 << 20)
    )  # beyond twice the fake 1 MiB L2
    monkeypatch.setattr(hostlinks, "QUICK_SIZES", (1 << 20,))
    monkeypatch.setattr(prewarm, "GPU_SHAPE", (64, "bf16"))
    monkeypatch.setattr(prewarm, "QUICK_S", 0.2)
    # NCCL needs a GPU: the collectives ranks (child processes) are left out here.
    monkeypatch.setitem(
        suites.SUITES, "collectives", replace(suites.SUITES["collectives"], run=lambda w, *a: w)
    )
    with pytest.raises(SystemExit) as info:
        main(["run", "--quick", "--device", "cuda", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    (run_path,) = [p for p in tmp_path.glob("*.json") if not p.name.endswith("_plan.json")]
    run = load_run(run_path)
    plan = json.loads(next(tmp_path.glob("*_plan.json")).read_text())
    assert {r["suite"] for r in run["results"]} == {"gemm", "memory"} and run["telemetry"]["device"]
    scenario = plan["inputs"]["scenario"]
    assert scenario["basis"] == "measured" and scenario["run_id"] == run["id"]
    provenance = plan["inputs"]["hardware"]["provenance"]
    assert (
        provenance["gemm_efficiency"]["kind"] == provenance["hbm_efficiency"]["kind"] == "measured"
    )
    assert plan["training"]["days"] > 1000  # a CPU-slow "H100": honest, not the published 19 days
    assert (
        "profile          measured (h100-sxm)" in out
        and (tmp_path / "report" / "report.html").is_file()
    )
