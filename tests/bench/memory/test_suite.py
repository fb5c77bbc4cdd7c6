"""The memory suite's options, and `exabench bench memory` end to end on the CPU."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from exabench.bench.device import Device
from exabench.bench.memory import stream as memory
from exabench.bench.memory import suite as memsuite
from exabench.bench.memory.hostlinks import HostCopyCase
from exabench.bench.memory.stream import StreamCase
from exabench.bench.suites import SUITES
from exabench.bench.sweeps import MemorySweep
from exabench.cli import cli, main
from exabench.commands._options import ByteSizes, Names
from exabench.documents.run import load_run
from exabench.errors import UserError

CPU = Device("cpu")


def sweep(options: dict[str, str]) -> MemorySweep:
    """The sweep of `bench memory` given these options, spelled as on its command line."""
    return MemorySweep(**{k: (ByteSizes() if k == "sizes" else Names()).convert(v, None, None)
                          for k, v in options.items()})


def test_memory_is_a_suite_of_bench_all() -> None:
    assert "memory" in SUITES


def test_cpu_quick_defaults_are_stream_kernels_only() -> None:
    cases = memsuite.memory_cases(sweep({}), CPU, quick=True)
    assert all(isinstance(c, StreamCase) for c in cases)
    assert {c.params["kernel"] for c in cases} == set(memory.KERNELS)
    assert len(cases) == len(memory.KERNELS) * len(memory.QUICK_CPU_SIZES)
    assert {c.params["backend"] for c in cases} == {"torch"}


def test_full_cpu_sweep_goes_beyond_a_large_cache() -> None:
    sizes = {c.params["bytes"] for c in memsuite.memory_cases(sweep({}), CPU, quick=False)}
    assert min(sizes) <= 64 << 10 and max(sizes) >= 1 << 30


def test_explicit_selection() -> None:
    opts = {"kernels": "copy,triad", "sizes": "1M,4M", "dtype": "fp64,fp32", "backend": "torch"}
    cases = memsuite.memory_cases(sweep(opts), CPU, quick=True)
    assert len(cases) == 2 * 2 * 2


def test_host_links_named_on_a_cpu_are_recorded_skipped_once_per_kind() -> None:
    cases = memsuite.memory_cases(
        sweep({"kernels": "host", "direction": "h2d,both"}), CPU, quick=False
    )
    assert all(isinstance(c, HostCopyCase) for c in cases) and len(cases) == 2 * 2


def test_peer_links_named_without_two_gpus_say_why() -> None:
    cases = memsuite.memory_cases(sweep({"kernels": "peer"}), CPU, quick=True)
    assert cases and all(c.skip_reason(CPU) for c in cases)


@pytest.mark.parametrize(("options", "message"), [
    ({"kernels": "copy,bogus"}, "--kernels 'bogus' is not valid"),
    ({"backend": "numba"}, "--backend 'numba' is not valid"),
    ({"dtype": "bf16"}, "--dtype 'bf16' is not valid"),
    ({"direction": "up"}, "--direction 'up' is not valid"),
    ({"sizes": "1Q"}, "size '1Q' is not valid"),
    ({"kernels": "host", "direction": "d2d"}, "selects nothing"),
])
def test_bad_options_are_user_errors(options, message) -> None:
    with pytest.raises(UserError, match=message):
        memsuite.memory_cases(sweep(options), CPU, quick=True)


def test_cli_memory_quick_on_cpu(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "memory", "--quick", "--device", "cpu", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "(GB/s)" in result.output and "Results: 12 ok, 0 failed" in result.output
    run = load_run(next(tmp_path.glob("*.json")))
    assert run["telemetry"] is None
    by_kernel = {
        r["params"]["kernel"]: r for r in run["results"] if r["params"]["bytes"] == 64 << 20
    }
    assert set(by_kernel) == set(memory.KERNELS)
    copy = by_kernel["copy"]
    assert copy["status"] == "ok" and copy["telemetry"] is None
    assert copy["metrics"]["bytes_moved"] == 2 * (64 << 20)
    assert copy["metrics"]["gbps"] == pytest.approx(2 * (64 << 20) / copy["stats"]["median"] / 1e9)


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_cli_memory_json_and_a_size_beyond_memory(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(Device, "free_bytes", lambda self: 8 << 20)
    code, out, err = run_main(
        [
            "bench",
            "memory",
            "--device",
            "cpu",
            "--kernels",
            "fill",
            "--sizes",
            "64K,1G",
            "--rep-ms",
            "5",
            "--json",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    # Only a size that can't fit failed: exit 2 with one line, and the sweep went on.
    assert code == 2 and err.strip().count("\n") == 0 and "out of memory" in err
    doc = json.loads(out)
    assert [r["status"] for r in doc["results"]] == ["ok", "failed"]
    assert doc["results"][1]["error"].startswith("out of memory")


def test_cli_bad_kernel_exits_2_with_one_line(tmp_path, capsys) -> None:
    code, _out, err = run_main(
        ["bench", "memory", "--device", "cpu", "--kernels", "nope", "--out", str(tmp_path)], capsys
    )
    assert code == 2
    assert err.strip().count("\n") == 0 and "--kernels 'nope' is not valid" in err
