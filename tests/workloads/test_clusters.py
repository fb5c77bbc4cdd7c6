from __future__ import annotations

import pytest

from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster, parse_cluster, shipped_clusters


def test_shipped_clusters() -> None:
    names = {c.name for c in shipped_clusters()}
    assert {"dgx-h100", "colossus-100k", "meta-24k-roce", "selene-a100"} <= names
    colossus = load_cluster("colossus-100k")
    assert (colossus.gpus, colossus.gpus_per_node, colossus.gpu) == (100_000, 8, "h100-sxm")
    assert colossus.network.nic_gbytes_per_gpu(8) == 50.0  # 400 Gb/s per GPU
    assert colossus.network.fabric_efficiency == 0.95 and "Spectrum-X" in colossus.network.fabric
    for c in shipped_clusters():
        assert {"network", "power", "price", "reliability"} <= set(c.sources) and all(
            c.sources.values()
        )
        assert c.power["pue"] >= 1 and c.reliability["interruptions_per_gpu_hour"] > 0


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"gpu": "h100-sxm", "gpus": 8, "gpus_per_node": 8, "racks": 1}, "unknown key 'racks'"),
        ({"gpu": "h100-sxm", "gpus": 0, "gpus_per_node": 8}, "gpus = 0"),
        ({"gpus": 8, "gpus_per_node": 8}, "missing 'gpu'"),
        (
            {"gpu": "h100-sxm", "gpus": 8, "gpus_per_node": 8, "network": {"nic_gbps": -1}},
            "network.nic_gbps = -1",
        ),
        (
            {
                "gpu": "h100-sxm",
                "gpus": 8,
                "gpus_per_node": 8,
                "network": {"fabric_efficiency": 1.5},
            },
            "fabric_efficiency = 1.5",
        ),
        (
            {"gpu": "h100-sxm", "gpus": 8, "gpus_per_node": 8, "network": {"speed": 1}},
            "unknown key 'network.speed'",
        ),
        ({"gpu": "h100-sxm", "gpus": 8, "gpus_per_node": 8, "power": {"pue": "high"}}, "power.pue"),
    ],
)
def test_invalid_clusters(doc: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_cluster(doc, "c.toml")
