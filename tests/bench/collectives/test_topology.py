"""NVLink capture through a stand-in pynvml: two GPUs linked directly, and an NVSwitch board."""

from __future__ import annotations

import sys
import types

from exabench.bench.collectives import topology


class _NotSupported(Exception):
    pass


def fake_pynvml(links: dict[int, dict[int, tuple[str, int]]]) -> types.ModuleType:
    """``links[gpu][link] = (remote bus id, remote type)``; other links raise NotSupported."""
    buses = ["00000000:18:00.0", "00000000:2A:00.0"]
    nv = types.ModuleType("pynvml")
    nv.NVML_FEATURE_ENABLED = 1
    nv.nvmlInit = lambda: None
    nv.nvmlShutdown = lambda: None
    nv.nvmlDeviceGetCount = lambda: 2
    nv.nvmlDeviceGetHandleByIndex = lambda i: i
    nv.nvmlDeviceGetPciInfo = lambda h: types.SimpleNamespace(busId=buses[h].encode())

    def state(h, link):
        if link not in links[h]:
            raise _NotSupported
        return 1

    nv.nvmlDeviceGetNvLinkState = state
    nv.nvmlDeviceGetNvLinkVersion = lambda h, link: 4
    nv.nvmlDeviceGetNvLinkRemotePciInfo = lambda h, link: types.SimpleNamespace(
        busId=links[h][link][0]
    )
    nv.nvmlDeviceGetNvLinkRemoteDeviceType = lambda h, link: links[h][link][1]
    nv.nvmlDeviceGetTopologyCommonAncestor = lambda a, b: 40
    return nv


def test_direct_nvlinks(monkeypatch) -> None:
    links = {
        0: {0: ("00000000:2A:00.0", 0), 1: ("00000000:2A:00.0", 0)},
        1: {0: ("00000000:18:00.0", 0)},
    }
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(links))
    topo = topology.nvlink_topology()
    assert topo["reason"] is None
    gpu0 = topo["gpus"][0]
    assert gpu0["nvlinks"] == 2 and not gpu0["nvswitch"]
    assert gpu0["links"][0] == {
        "link": 0,
        "version": 4,
        "remote": "gpu",
        "remote_bus_id": "00000000:2A:00.0",
        "remote_index": 1,
    }
    assert topo["p2p"] == [["SELF", "NVLINK"], ["NVLINK", "SELF"]]


def test_nvswitch_board(monkeypatch) -> None:
    switch = ("00000000:C0:00.0", 2)
    links = {0: {i: switch for i in range(18)}, 1: {i: switch for i in range(18)}}
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(links))
    topo = topology.nvlink_topology()
    assert [g["nvlinks"] for g in topo["gpus"]] == [18, 18]
    assert all(g["nvswitch"] for g in topo["gpus"]) and topo["p2p"][0][1] == "NVLINK"


def test_no_nvlink_gives_pcie_level(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({0: {}, 1: {}}))
    assert topology.nvlink_topology()["p2p"][0][1] == "NODE"


def test_without_nvml(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    topo = topology.nvlink_topology()
    assert topo["gpus"] == [] and "pynvml not installed" in topo["reason"]


def test_nccl_env_keeps_only_nccl_settings() -> None:
    env = {"NCCL_ALGO": "Ring", "NCCL_DEBUG": "INFO", "PATH": "/bin", "XNCCL_X": "1"}
    assert topology.nccl_env(env) == {"NCCL_ALGO": "Ring", "NCCL_DEBUG": "INFO"}
