from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from exabench.bench.env import capture, fingerprint, merge_devices, nvml_uuid


def test_capture_without_a_gpu_has_nulls_not_crashes() -> None:
    env = capture()
    assert env["host"]["cpu_cores"] >= 1
    assert env["host"]["python"]
    assert isinstance(env["gpu"]["devices"], list)
    if env["gpu"]["count"] == 0:
        assert env["gpu"]["driver"] is None or isinstance(env["gpu"]["driver"], str)
    assert len(env["fingerprint"]) == 16


def test_fingerprint_is_stable_and_ignores_state() -> None:
    env = capture()
    again = copy.deepcopy(env)
    again["host"]["hostname"] = "another-node"
    again["gpu"]["devices"] = [
        dict(d, sm_clock_mhz=1, temperature_c=99) for d in again["gpu"]["devices"]
    ]
    assert fingerprint(again) == fingerprint(env) == env["fingerprint"]


def test_fingerprint_changes_with_identity() -> None:
    env = capture()
    other = copy.deepcopy(env)
    other["software"]["torch"] = "0.0.1"
    assert fingerprint(other) != fingerprint(env)


# -- which NVML board is which CUDA device -------------------------------------------------

def _nvml(index: int, uuid: str, **extra) -> dict:
    return {
        "index": index,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": uuid,
        "pci_bus_id": f"0000:{index:02x}:00.0",
        "power_limit_w": 700.0,
        **extra,
    }


def _cuda(index: int, uuid: str | None) -> dict:
    return {
        "index": index,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": uuid,
        "sm_count": 132,
        "l2_bytes": 50 << 20,
    }


NODE = [_nvml(i, f"GPU-{i:08x}-aaaa-bbbb-cccc-dddddddddddd") for i in range(8)]


def test_devices_are_paired_by_uuid_when_cuda_visible_devices_renumbers() -> None:
    # SLURM's one-GPU-per-task binding: this process's CUDA device 0 is the node's NVML device 3.
    merged = merge_devices(NODE, [_cuda(0, NODE[3]["uuid"])], visible="3")
    assert len(merged) == 1
    (device,) = merged
    assert device["index"] == 0 and device["nvml_index"] == 3
    assert device["pci_bus_id"] == "0000:03:00.0" and device["uuid"] == NODE[3]["uuid"]
    assert device["sm_count"] == 132  # torch's facts kept beside NVML's


def test_cuda_order_is_kept_when_it_differs_from_nvml_order() -> None:
    merged = merge_devices(
        NODE[:2], [_cuda(0, NODE[1]["uuid"]), _cuda(1, NODE[0]["uuid"])], visible=None
    )
    assert [(d["index"], d["nvml_index"], d["pci_bus_id"]) for d in merged] == [
        (0, 1, "0000:01:00.0"),
        (1, 0, "0000:00:00.0"),
    ]


def test_position_pairs_only_where_nothing_renumbers_and_torch_has_no_uuid() -> None:
    old_torch = [_cuda(i, None) for i in range(8)]
    assert [d.get("nvml_index") for d in merge_devices(NODE, old_torch, visible=None)] == list(
        range(8)
    )
    # Renumbered, or a different count: position means nothing, so NVML's facts stay out.
    assert [d.get("nvml_index") for d in merge_devices(NODE, old_torch[:1], visible="5")] == [None]
    assert all("pci_bus_id" not in d for d in merge_devices(NODE, old_torch[:2], visible=None))


def test_without_cuda_in_torch_nvml_lists_the_node() -> None:
    assert merge_devices(NODE, [], visible=None) == NODE
    assert merge_devices([], [], visible=None) == []


@pytest.mark.parametrize(("torch_uuid", "nvml"), [
    ("6b1c1f8e-0000-4c3a-9b7d-000000000006", "GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006"),
    ("GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006", "GPU-6b1c1f8e-0000-4c3a-9b7d-000000000006"),
    ("MIG-6b1c1f8e-0000-4c3a-9b7d-000000000006", "MIG-6b1c1f8e-0000-4c3a-9b7d-000000000006"),
    (None, None),
])
def test_nvml_spelling_of_a_torch_uuid(torch_uuid, nvml) -> None:
    assert nvml_uuid(SimpleNamespace(uuid=torch_uuid)) == nvml
    assert nvml_uuid(SimpleNamespace()) is None


def test_capture_reports_the_visible_devices(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    gpu = capture()["gpu"]
    assert gpu["cuda_visible_devices"] == "2,3" and gpu["node_count"] >= gpu["count"] >= 0
