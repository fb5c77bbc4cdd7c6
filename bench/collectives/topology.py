"""The interconnect a collectives Run was measured on: NVLink/NVSwitch links through NVML, the
NCCL version, and the ``NCCL_*`` settings in force.

Per GPU: each NVLink that NVML reports active, its version, and what is at its far end (a GPU,
by PCI bus id and index, or an NVSwitch); ``nvswitch`` is true when any link ends in a switch
(HGX boards: every GPU reaches every other through the switches). ``p2p`` gives NVML's
topology level between each pair of GPUs (``NVLINK`` where linked, otherwise the closest common
PCIe ancestor: ``SINGLE``, ``MULTIPLE``, ``HOSTBRIDGE``, ``NODE``, ``SYSTEM``). Anything NVML
can't say is None, with the reason.
"""

from __future__ import annotations

import os
from typing import Any

MAX_LINKS = 18  # NVML_NVLINK_MAX_LINKS (H100: 18 NVLink 4 links)
REMOTE_TYPES = {0: "gpu", 1: "ibmnpu", 2: "nvswitch"}  # nvmlIntNvLinkDeviceType_t
TOPOLOGY_LEVELS = {
    0: "INTERNAL",
    10: "SINGLE",
    20: "MULTIPLE",
    30: "HOSTBRIDGE",
    40: "NODE",
    50: "SYSTEM",
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def nccl_version() -> str | None:
    try:
        import torch

        version = torch.cuda.nccl.version() if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - a CPU build of torch has no NCCL
        return None
    return (
        ".".join(str(p) for p in version)
        if isinstance(version, tuple)
        else (str(version) if version else None)
    )


def nccl_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: v for k, v in sorted(env.items()) if k.startswith("NCCL_")}


def _links(pynvml: Any, handle: Any, bus_to_index: dict[str, int]) -> list[dict[str, Any]]:
    links = []
    for link in range(MAX_LINKS):
        try:
            if pynvml.nvmlDeviceGetNvLinkState(handle, link) != pynvml.NVML_FEATURE_ENABLED:
                continue
        except Exception:  # noqa: BLE001 - NotSupported / InvalidArgument: no such link
            continue
        entry: dict[str, Any] = {
            "link": link,
            "version": None,
            "remote": None,
            "remote_bus_id": None,
            "remote_index": None,
        }
        try:
            entry["version"] = pynvml.nvmlDeviceGetNvLinkVersion(handle, link)
        except Exception:  # noqa: BLE001
            pass
        try:
            bus = _text(pynvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link).busId)
            entry["remote_bus_id"] = bus
            entry["remote_index"] = bus_to_index.get(bus.lower())
        except Exception:  # noqa: BLE001
            pass
        try:
            entry["remote"] = REMOTE_TYPES.get(
                pynvml.nvmlDeviceGetNvLinkRemoteDeviceType(handle, link), "unknown"
            )
        except Exception:  # noqa: BLE001 - older drivers: a known GPU bus id means a GPU
            entry["remote"] = "gpu" if entry["remote_index"] is not None else None
        links.append(entry)
    return links


def nvlink_topology() -> dict[str, Any]:
    """Per-GPU NVLink links and the pairwise topology matrix, from NVML."""
    try:
        import pynvml
    except ImportError:
        return {
            "gpus": [],
            "p2p": [],
            "reason": "pynvml not installed (pip install 'exabench[bench]')",
        }
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001
        return {"gpus": [], "p2p": [], "reason": f"NVML unavailable: {error}"}
    try:
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        buses = []
        for h in handles:
            try:
                buses.append(_text(pynvml.nvmlDeviceGetPciInfo(h).busId).lower())
            except Exception:  # noqa: BLE001
                buses.append(None)
        bus_to_index = {b: i for i, b in enumerate(buses) if b}
        gpus = []
        for index, handle in enumerate(handles):
            links = _links(pynvml, handle, bus_to_index)
            gpus.append({
                "index": index,
                "pci_bus_id": buses[index],
                "nvlinks": len(links),
                "nvswitch": any(link["remote"] == "nvswitch" for link in links),
                "links": links,
            })
        p2p = [
            [_level(pynvml, a, b, gpus, i, j) for j, b in enumerate(handles)]
            for i, a in enumerate(handles)
        ]
        return {"gpus": gpus, "p2p": p2p, "reason": None}
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


def _level(pynvml: Any, a: Any, b: Any, gpus: list[dict[str, Any]], i: int, j: int) -> str | None:
    if i == j:
        return "SELF"
    if any(link["remote_index"] == j for link in gpus[i]["links"]) or (
        gpus[i]["nvswitch"] and gpus[j]["nvswitch"]
    ):
        return "NVLINK"
    try:
        return TOPOLOGY_LEVELS.get(pynvml.nvmlDeviceGetTopologyCommonAncestor(a, b), "unknown")
    except Exception:  # noqa: BLE001
        return None


def capture() -> dict[str, Any]:
    return {"nccl": nccl_version(), "nccl_env": nccl_env(), **nvlink_topology()}
