"""Starting the ranks of a distributed benchmark, joining them, and never hanging.

Three ways in, one process per GPU (or per CPU stand-in):

- ``exabench bench collectives --nproc N``: :func:`launch_local` starts N processes of this
  machine itself (argument lists, never a shell). It serves the rendezvous store on a socket it
  binds to 127.0.0.1 and an ephemeral port (loopback unless ``--master-addr`` says otherwise),
  so no port can be taken between choosing it and using it.
- ``torchrun ... -m exabench bench collectives``: torchrun sets RANK, WORLD_SIZE, LOCAL_RANK,
  MASTER_ADDR and MASTER_PORT and serves the store (TORCHELASTIC_USE_AGENT_STORE).
- ``srun`` with one task per GPU: SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID, with
  MASTER_ADDR (and MASTER_PORT, default 29500) exported by the batch script.

Faults: every collective runs under the process-group timeout; each rank also runs a watchdog
thread, and the local launcher watches heartbeats (a counter each rank bumps in the store after
every case). A rank that dies or hangs ends the whole run, with a message naming it, within
about the timeout.
"""

from __future__ import annotations

import datetime as _dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exabench.errors import UserError

DEFAULT_TIMEOUT_S = 300.0
"""Process-group timeout and watchdog limit (5 minutes), ``--timeout``."""
STARTUP_S = 120.0
"""How long a rank may take to import torch and join before the launcher gives up on it."""
AGENT_STORE_ENV = "EXABENCH_AGENT_STORE"
FAULT_ENV = "EXABENCH_INJECT_FAULT"
"""Test hook: ``RANK:CASE:die|hang`` makes that rank die or hang at the start of that case."""


@dataclass(frozen=True, kw_only=True)
class World:
    rank: int
    size: int
    local_rank: int
    local_size: int
    master_addr: str
    master_port: int
    agent_store: bool
    """A store is already served at master_addr:master_port (torchrun's agent, our launcher)."""


def _int(environ: Mapping[str, str], key: str) -> int:
    try:
        return int(environ[key])
    except ValueError:
        raise UserError(f"environment variable {key}={environ[key]!r} is not an integer") from None


def world_from_env(environ: Mapping[str, str] | None = None) -> World | None:
    """The world this process is a rank of, from torchrun's or srun's variables; None when it
    was started on its own (then it is a launcher, not a rank)."""
    env = os.environ if environ is None else environ
    if "RANK" in env and "WORLD_SIZE" in env:
        rank, size = _int(env, "RANK"), _int(env, "WORLD_SIZE")
        local = _int(env, "LOCAL_RANK") if "LOCAL_RANK" in env else rank
        local_size = _int(env, "LOCAL_WORLD_SIZE") if "LOCAL_WORLD_SIZE" in env else size
    elif (
        "SLURM_PROCID" in env
        and "MASTER_ADDR" in env
        and int(env.get("SLURM_NTASKS", "1") or 1) > 1
    ):
        rank, size = _int(env, "SLURM_PROCID"), _int(env, "SLURM_NTASKS")
        local = _int(env, "SLURM_LOCALID") if "SLURM_LOCALID" in env else 0
        local_size = int(
            (env.get("SLURM_TASKS_PER_NODE") or str(size)).split("(")[0].split(",")[0] or size
        )
    else:
        return None
    if not 0 <= rank < size:
        raise UserError(f"rank {rank} is outside the world of {size} processes (RANK/WORLD_SIZE)")
    if "MASTER_ADDR" not in env:
        raise UserError(
            "RANK and WORLD_SIZE are set but MASTER_ADDR is not; launch with torchrun, or export"
            " MASTER_ADDR"
        )
    port = _int(env, "MASTER_PORT") if "MASTER_PORT" in env else 29500
    agent = env.get("TORCHELASTIC_USE_AGENT_STORE") == "True" or env.get(AGENT_STORE_ENV) == "1"
    return World(rank=rank, size=size, local_rank=local, local_size=local_size,
                 master_addr=env["MASTER_ADDR"], master_port=port, agent_store=agent)


def heartbeat_key(rank: int) -> str:
    return f"exabench/heartbeat/{rank}"


class Session:
    """This process's place in an initialised world: the process group that is measured, a
    gloo group for gathering results (cheap host objects, never the measured links), and the
    heartbeat both watchdogs read."""

    def __init__(self, world: World, backend: str, timeout_s: float) -> None:
        import torch.distributed as dist

        self.world, self.backend, self.timeout_s = world, backend, timeout_s
        timeout = _dt.timedelta(seconds=timeout_s)
        self.store = dist.TCPStore(world.master_addr, world.master_port, None,
                                   is_master=world.rank == 0 and not world.agent_store,
                                   timeout=timeout, wait_for_workers=False)
        self.last_beat = time.monotonic()
        self.beat()
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        prefix = dist.PrefixStore(f"exabench/pg/{restart}", self.store)
        kwargs: dict[str, Any] = {}
        if backend == "nccl":
            import torch

            kwargs["device_id"] = torch.device("cuda", torch.cuda.current_device())
        dist.init_process_group(backend, store=prefix, rank=world.rank, world_size=world.size,
                                timeout=timeout, **kwargs)
        self.group = dist.group.WORLD
        self.control = (
            dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else self.group
        )
        self.beat()

    @property
    def rank(self) -> int:
        return self.world.rank

    @property
    def size(self) -> int:
        return self.world.size

    def beat(self) -> None:
        """Progress: refresh the in-process watchdog and bump this rank's counter in the store."""
        self.last_beat = time.monotonic()
        try:
            self.store.add(heartbeat_key(self.world.rank), 1)
        except Exception:  # noqa: BLE001 - a lost store shows up in the next collective
            pass

    def close(self, code: int = 0) -> None:
        """End this rank's process: wait for the others (on success), flush, and leave with
        ``os._exit`` so no native thread of gloo, NCCL or the store is torn down half-way
        (which aborts the process, or hangs it when a peer is gone)."""
        if code == 0:
            import torch.distributed as dist

            try:
                dist.barrier(group=self.control)
            except Exception:  # noqa: BLE001 - a peer gone now changes nothing measured
                code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def start_watchdog(
    last_beat: Callable[[], float], limit_s: float, on_fire: Callable[[], None]
) -> None:
    """A daemon thread that calls ``on_fire`` and ends the process (exit 1) when ``last_beat``
    is older than ``limit_s``: the backstop when a collective hangs in native code that no
    timeout reaches."""
    def watch() -> None:
        while True:
            time.sleep(min(1.0, limit_s / 10))
            if time.monotonic() - last_beat() > limit_s:
                try:
                    on_fire()
                finally:
                    os._exit(1)

    threading.Thread(target=watch, name="exabench-watchdog", daemon=True).start()


def inject_fault(rank: int, case: int) -> None:
    """The ``EXABENCH_INJECT_FAULT`` test hook (see :data:`FAULT_ENV`)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    want_rank, want_case, mode = spec.split(":")
    if int(want_rank) == rank and int(want_case) == case:
        if mode == "die":
            os._exit(9)
        time.sleep(10**6)


@dataclass
class Outcome:
    exit_code: int
    message: str | None
    run_path: str | None


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def launch_local(
    args: list[str], nproc: int, *, timeout_s: float, bind: str = "127.0.0.1", poll_s: float = 0.2
) -> Outcome:
    """Run ``python -m exabench <args>`` (for example ``bench collectives ...``) as ranks
    0..nproc-1 of one world on this machine and watch them; returns when all have ended, or after
    stopping them all on a fault."""
    import torch.distributed as dist

    sock = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((bind, 0))
    except OSError as error:
        raise UserError(
            f"--master-addr {bind!r}: cannot bind ({error.strerror or error})"
        ) from None
    sock.listen(max(128, nproc))
    port = sock.getsockname()[1]
    store = dist.TCPStore(
        bind,
        port,
        None,
        is_master=True,
        timeout=_dt.timedelta(seconds=timeout_s),
        wait_for_workers=False,
        master_listen_fd=sock.fileno(),
    )
    sock.detach()  # the store owns the listening socket now, and closes it
    base = dict(os.environ)
    # Each CPU rank gets its share of the cores, so N ranks don't oversubscribe them N-fold.
    base.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    procs = []
    for rank in range(nproc):
        env = {**base, "RANK": str(rank), "WORLD_SIZE": str(nproc), "LOCAL_RANK": str(rank),
               "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": bind, "MASTER_PORT": str(port),
               AGENT_STORE_ENV: "1"}
        procs.append(subprocess.Popen([sys.executable, "-m", "exabench", *args], env=env))
    try:
        return _watch(procs, store, timeout_s, poll_s)
    finally:
        for p in procs:
            _stop(p)
        del store


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _watch(procs: list[subprocess.Popen], store: Any, timeout_s: float, poll_s: float) -> Outcome:
    n = len(procs)
    start = time.monotonic()
    counts = [0] * n
    seen = [start] * n
    first_failure: tuple[float, int, int] | None = None
    grace = min(timeout_s, 10.0)
    while True:
        now = time.monotonic()
        codes = [p.poll() for p in procs]
        failing = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
        if failing and first_failure is None:
            # Ranks that notice a lost peer exit 1; the one that died first usually didn't.
            rank, code = sorted(failing, key=lambda rc: rc[1] == 1)[0]
            first_failure = (now, rank, code)
        if all(c is not None for c in codes):
            break
        for rank in range(n):
            count = store.add(heartbeat_key(rank), 0)
            if count != counts[rank]:
                counts[rank], seen[rank] = count, now
        if first_failure and now - first_failure[0] > grace:
            left = [r for r, c in enumerate(codes) if c is None]
            return _outcome(
                store,
                f"rank {first_failure[1]} {_describe(first_failure[2])}; ranks {left} "
                f"had not finished {grace:.0f} s later and were stopped",
            )
        limit = timeout_s + grace if all(counts) else max(timeout_s, STARTUP_S) + grace
        if now - max(seen) > limit:
            stale = min(range(n), key=lambda r: (seen[r], counts[r]))
            return _outcome(
                store,
                f"no rank made progress for {limit:.0f} s (rank {stale} stopped "
                f"first, after {counts[stale]} heartbeats); all ranks were stopped",
            )
        time.sleep(poll_s)
    failed = [(r, c) for r, c in enumerate(codes) if c != 0]
    if not failed:
        return Outcome(0, None, _run_path(store))
    if all(c == 2 for _, c in failed):  # a user error, reported by the rank itself
        return Outcome(2, None, _run_path(store))
    first = first_failure[1] if first_failure else failed[0][0]
    code = dict(failed).get(first, failed[0][1])
    return _outcome(store, f"rank {first} {_describe(code)}")


def _run_path(store: Any) -> str | None:
    try:
        return (
            store.get("exabench/run_path").decode() if store.check(["exabench/run_path"]) else None
        )
    except Exception:  # noqa: BLE001 - the path is a convenience for the message
        return None


def _outcome(store: Any, message: str) -> Outcome:
    path = _run_path(store)
    if path:
        message += f"; the results measured before are kept in {path}"
    return Outcome(1, message, path)
