"""World discovery from torchrun/srun variables, and the launcher's watchdog."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from exabench.bench.collectives import launch
from exabench.errors import UserError


def test_no_world_without_launcher_variables() -> None:
    assert launch.world_from_env({}) is None
    assert (
        launch.world_from_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "1", "MASTER_ADDR": "h"})
        is None
    )


def test_torchrun_world() -> None:
    world = launch.world_from_env({
        "RANK": "3",
        "WORLD_SIZE": "16",
        "LOCAL_RANK": "3",
        "LOCAL_WORLD_SIZE": "8",
        "MASTER_ADDR": "node0",
        "MASTER_PORT": "29400",
        "TORCHELASTIC_USE_AGENT_STORE": "True",
    })
    assert (world.rank, world.size, world.local_rank, world.master_port, world.agent_store) == (
        3,
        16,
        3,
        29400,
        True,
    )


def test_srun_world() -> None:
    world = launch.world_from_env({"SLURM_PROCID": "9", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1",
                                   "SLURM_TASKS_PER_NODE": "8(x2)", "MASTER_ADDR": "node0"})
    assert (world.rank, world.size, world.local_rank, world.local_size) == (9, 16, 1, 8)
    assert world.master_port == 29500 and not world.agent_store


@pytest.mark.parametrize(("env", "message"), [
    ({"RANK": "x", "WORLD_SIZE": "2", "MASTER_ADDR": "h"}, "RANK='x' is not an integer"),
    ({"RANK": "2", "WORLD_SIZE": "2", "MASTER_ADDR": "h"}, "outside the world"),
    ({"RANK": "0", "WORLD_SIZE": "2"}, "MASTER_ADDR is not"),
])
def test_bad_world_variables(env, message) -> None:
    with pytest.raises(UserError, match=message):
        launch.world_from_env(env)


def _store():
    import datetime
    import socket

    import torch.distributed as dist

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    store = dist.TCPStore("127.0.0.1", sock.getsockname()[1], None, is_master=True,
                          timeout=datetime.timedelta(seconds=5), wait_for_workers=False,
                          master_listen_fd=sock.fileno())
    sock.detach()
    return store


def test_watchdog_stops_ranks_that_make_no_progress(monkeypatch) -> None:
    monkeypatch.setattr(launch, "STARTUP_S", 0.5)
    procs = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)
    ]
    store = _store()
    try:
        store.add(launch.heartbeat_key(0), 3)  # rank 0 made progress once, rank 1 never did
        start = time.monotonic()
        outcome = launch._watch(procs, store, timeout_s=1.0, poll_s=0.05)
        assert time.monotonic() - start < 10
    finally:
        for p in procs:
            launch._stop(p)
    assert outcome.exit_code == 1
    assert "no rank made progress" in outcome.message and "rank 1 stopped first" in outcome.message


def test_watch_reports_the_rank_that_died() -> None:
    procs = [subprocess.Popen([sys.executable, "-c", code]) for code in
             ("import time; time.sleep(0.3); raise SystemExit(1)", "raise SystemExit(7)")]
    store = _store()
    outcome = launch._watch(procs, store, timeout_s=5.0, poll_s=0.05)
    assert outcome.exit_code == 1 and outcome.message.startswith("rank 1 exited with code 7")
