from __future__ import annotations

import copy

from exabench.bench.env import capture, fingerprint


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
    again["gpu"]["devices"] = [dict(d, sm_clock_mhz=1, temperature_c=99) for d in again["gpu"]["devices"]]
    assert fingerprint(again) == fingerprint(env) == env["fingerprint"]


def test_fingerprint_changes_with_identity() -> None:
    env = capture()
    other = copy.deepcopy(env)
    other["software"]["torch"] = "0.0.1"
    assert fingerprint(other) != fingerprint(env)
