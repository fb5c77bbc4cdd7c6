"""Options of `bench collectives` into a sweep spec, and back into the ranks' argument list."""

from __future__ import annotations

import pytest

from exabench.bench.collectives.spec import build_spec, child_argv, parse_bytes, sweep_sizes
from exabench.errors import UserError


@pytest.mark.parametrize(("text", "value"), [("8", 8), ("1K", 1024), ("1k", 1024), ("1M", 2**20),
                                             ("1G", 2**30), ("4KiB", 4096), ("2MB", 2 * 2**20), (64, 64)])
def test_parse_bytes(text, value) -> None:
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "1X", "K", "1.5M", ""])
def test_parse_bytes_rejects(text) -> None:
    with pytest.raises(UserError, match="valid: a positive byte count"):
        parse_bytes(text)


def test_sweep_sizes_like_nccl_tests() -> None:
    assert sweep_sizes(8, 128, 2) == [8, 16, 32, 64, 128]
    assert sweep_sizes(1024, 1024, 2) == [1024]
    assert sweep_sizes(1, 100, 10) == [1, 10, 100]
    with pytest.raises(UserError, match="larger than --max-bytes"):
        sweep_sizes(16, 8, 2)


def test_quick_cpu_defaults_cover_every_collective() -> None:
    spec = build_spec({}, "cpu", True)
    assert len(spec.collectives) == 7 and spec.dtypes == ("fp32",) and spec.op == "sum"
    assert spec.sizes == (1024, 32768, 1048576) and spec.timeout_s == 300.0


@pytest.mark.parametrize(("options", "message"), [
    ({"collectives": "all_reduce,allreduce"}, "--collectives 'allreduce' is not valid"),
    ({"dtype": "fp8"}, "--dtype 'fp8' is not valid"),
    ({"op": "mean"}, "--op 'mean' is not valid"),
    ({"op": "avg", "dtype": "int32"}, "--op avg needs floating-point"),
    ({"flush": "l2"}, "--flush does not apply to collectives"),
    ({"cuda_graph": True}, "--cuda-graph needs CUDA"),
    ({"min_bytes": "2M", "max_bytes": "1M"}, "larger than --max-bytes"),
])
def test_bad_options_are_user_errors(options, message) -> None:
    with pytest.raises(UserError, match=message):
        build_spec(options, "cpu", False)


def test_child_argv_round_trips() -> None:
    spec = build_spec({"min_bytes": "1K", "max_bytes": "64K", "step_factor": 4, "dtype": "bf16,fp32",
                       "op": "max", "iters": 3, "warmup_iters": 0, "collectives": "sendrecv,all_reduce",
                       "timeout": 7}, "cpu", False)
    argv = child_argv(spec, out_dir="out", as_json=True, append_to="run.json")
    pairs = dict(zip(argv[::2], argv[1::2], strict=False))
    options = {k[2:].replace("-", "_"): v for k, v in pairs.items() if k.startswith("--")}
    options["step_factor"] = int(options["step_factor"])
    options["iters"], options["warmup_iters"] = int(options["iters"]), int(options["warmup_iters"])
    again = build_spec(options, "cpu", False)
    assert again == spec
    assert "--json" in argv and argv[-2:] == ["--append-to", "run.json"]
