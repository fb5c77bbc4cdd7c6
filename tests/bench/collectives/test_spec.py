"""Options of `bench collectives` into a sweep spec, and back into the ranks' argument list."""

from __future__ import annotations

from dataclasses import fields

import pytest

from exabench.bench.collectives.spec import build_spec, child_argv, sweep_sizes
from exabench.bench.sweeps import CollectiveSweep, RunOptions
from exabench.commands._options import ByteSize, Names
from exabench.errors import UserError

RUN_FIELDS = {"warmup_ms", "rep_ms", "flush", "cuda_graph"}
SWEEP_FIELDS = {f.name for f in fields(CollectiveSweep)}
CONVERT = {
    "min_bytes": ByteSize(),
    "max_bytes": ByteSize(),
    "dtype": Names(),
    "collectives": Names(),
}


def spec_of(options: dict, device: str, quick: bool):
    """build_spec on `bench collectives` options as its command line spells them."""
    sweep = {}
    for key, value in options.items():
        if key in CONVERT:
            value = CONVERT[key].convert(value, None, None)
        elif key == "timeout":
            value = float(value)
        if key in SWEEP_FIELDS:
            sweep[key] = value
    run = RunOptions(**{k: v for k, v in options.items() if k in RUN_FIELDS})
    return build_spec(CollectiveSweep(**sweep), device, quick, run)


def test_sweep_sizes_like_nccl_tests() -> None:
    assert sweep_sizes(8, 128, 2) == [8, 16, 32, 64, 128]
    assert sweep_sizes(1024, 1024, 2) == [1024]
    assert sweep_sizes(1, 100, 10) == [1, 10, 100]
    with pytest.raises(UserError, match="larger than --max-bytes"):
        sweep_sizes(16, 8, 2)


def test_quick_cpu_defaults_cover_every_collective() -> None:
    spec = build_spec(CollectiveSweep(), "cpu", True)
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
        spec_of(options, "cpu", False)


def test_child_argv_round_trips() -> None:
    spec = spec_of(
        {
            "min_bytes": "1Ki",
            "max_bytes": "64Ki",
            "step_factor": 4,
            "dtype": "bf16,fp32",
            "op": "max",
            "iters": 3,
            "warmup_iters": 0,
            "collectives": "sendrecv,all_reduce",
            "timeout": 7,
        },
        "cpu",
        False,
    )
    argv = child_argv(spec, out_dir="out", as_json=True, append_to="run.json")
    pairs = dict(zip(argv[::2], argv[1::2], strict=False))
    options = {k[2:].replace("-", "_"): v for k, v in pairs.items() if k.startswith("--")}
    options["step_factor"] = int(options["step_factor"])
    options["iters"], options["warmup_iters"] = int(options["iters"]), int(options["warmup_iters"])
    again = spec_of(options, "cpu", False)
    assert again == spec
    assert "--json" in argv and argv[-2:] == ["--append-to", "run.json"]
