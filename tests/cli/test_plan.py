"""End-to-end CLI tests of plan, search, validate and catalog through exabench.cli.main."""

from __future__ import annotations

import json

import pytest

from exabench.cli import main
from exabench.commands._planning import parse_tokens
from exabench.errors import UserError


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize(
    "text, value",
    [("1.5e13", 1.5e13), ("15T", 15e12), ("300B", 3e11), ("2000000", 2e6), ("2.5m", 2.5e6)],
)
def test_tokens_parse(text: str, value: float) -> None:
    assert parse_tokens(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["15X", "", "-3T", "T", "1e"])
def test_bad_tokens(text: str) -> None:
    with pytest.raises(UserError):
        parse_tokens(text)


def test_plan_table_json_csv(capsys) -> None:
    args = [
        "plan",
        "--model",
        "llama3-70b",
        "--cluster",
        "meta-24k-roce",
        "--gpus",
        "512",
        "--tp",
        "8",
        "--tokens",
        "15T",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and "step time" in out and "MFU" in out and "chosen by search" in out
    code, out, _ = run(capsys, *args, "--format", "json")
    plan = json.loads(out)
    assert code == 0 and plan["schema"] == "exabench.plan/1" and plan["training"]["tokens"] == 15e12
    assert (
        plan["inputs"]["cluster"]["name"] == "meta-24k-roce"
        and plan["inputs"]["hardware"]["name"] == "h100-sxm"
    )
    code, out, _ = run(capsys, *args, "--tokens", "1.5e13", "--format", "csv")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2 and lines[0].startswith("model,hardware,cluster,gpus,tp")


def test_plan_defaults_to_one_h100_node(capsys) -> None:
    code, out, _ = run(capsys, "plan", "--model", "llama3-8b", "--format", "json")
    plan = json.loads(out)
    assert (
        code == 0
        and plan["inputs"]["gpus"] == 8
        and plan["inputs"]["hardware"]["name"] == "h100-sxm"
    )


def test_search_json_best_first(capsys) -> None:
    code, out, _ = run(
        capsys,
        "search",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--top",
        "3",
        "--format",
        "json",
    )
    layouts = json.loads(out)["layouts"]
    assert code == 0 and len(layouts) == 3
    rates = [p["tokens_per_s_per_gpu"] for p in layouts]
    assert rates == sorted(rates, reverse=True)
    code, out, _ = run(
        capsys, "search", "--model", "llama3-8b", "--cluster", "dgx-h100", "--top", "2"
    )
    assert code == 0 and "why:" in out


def test_validate_json_contract(capsys) -> None:
    code, out, _ = run(capsys, "validate", "--format", "json")
    report = json.loads(out)
    assert code == 0 and {"rows", "median_abs_error", "max_abs_error", "loso"} <= set(report)
    assert {"median_abs_error", "max_abs_error", "sources"} <= set(report["loso"])
    assert report["loso"]["sources"] >= 6 and len(report["rows"]) >= 60
    assert {"id", "source", "metric", "published", "predicted", "error"} <= set(report["rows"][0])
    code, out, _ = run(capsys, "validate")
    assert code == 0 and "median |error|" in out


def test_catalog(capsys) -> None:
    code, out, _ = run(capsys, "catalog")
    assert code == 0 and "llama3-405b" in out and "colossus-100k" in out and "h200-sxm" in out
    code, out, _ = run(capsys, "catalog", "--format", "json")
    doc = json.loads(out)
    assert {"models", "hardware", "clusters", "published"} <= set(doc)


@pytest.mark.parametrize(
    "args, message",
    [
        (["plan", "--model", "llama3-405b", "--tp", "3"], "--tp = 3 must divide"),
        (
            [
                "plan",
                "--model",
                "llama3-405b",
                "--gpus",
                "64",
                "--tp",
                "8",
                "--pp",
                "4",
                "--cp",
                "1",
                "--dp",
                "4",
            ],
            "must equal gpus = 64",
        ),
        (["plan", "--model", "llama3-405b", "--gpus", "8"], "no layout of llama3-405b"),
        (
            [
                "plan",
                "--model",
                "llama3-70b",
                "--gpus",
                "8",
                "--tp",
                "8",
                "--pp",
                "1",
                "--vp",
                "1",
                "--cp",
                "1",
                "--dp",
                "1",
                "--zero",
                "0",
                "--mbs",
                "1",
                "--recompute",
                "none",
                "--global-batch",
                "8",
            ],
            "GiB per GPU",
        ),
        (["plan", "--model", "nope"], "unknown models 'nope'"),
        (["plan", "--model", "llama3-8b", "--tokens", "lots"], "--tokens 'lots'"),
        (["plan", "--model", "llama3-8b", "--zero", "5"], "--zero"),
        (
            ["plan", "--model", "llama3-8b", "--hardware", "a100-sxm", "--precision", "fp8"],
            "not available on a100-sxm",
        ),
        (
            ["plan", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "16"],
            "exceeds the 8 GPUs",
        ),
        (["plan", "--model", "llama3-8b", "--ep", "2"], "needs a mixture-of-experts model"),
        (["plan"], "--model"),
        (["search", "--model", "mixtral-8x7b", "--ep", "3"], "must divide the 8 experts"),
        (["search", "--model", "llama3-8b", "--format", "csv"], "--format"),
        (["validate", "--format", "xml"], "--format"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_model_file(capsys, tmp_path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('layers = 2\nhidden = 64\nheads = 4\nvocab = 100\nseq_len = 16\nwidth = 3\n')
    code, _, err = run(capsys, "plan", "--model", str(path))
    assert code == 2 and "unknown key 'width'" in err and err.count("\n") == 1
    path.write_text(
        "layers = 2\nhidden = 64\nheads = 4\nvocab = 100\nseq_len = 16\n[moe]\ntop_k = 2\n"
    )
    code, _, err = run(capsys, "plan", "--model", str(path))
    assert code == 2 and "lacks 'experts'" in err


def test_plan_from_a_measured_run_says_what_was_measured(capsys, tmp_path) -> None:
    run_doc = {
        "schema": "exabench.run/1",
        "id": "measured-1",
        "created": "2026-01-01T00:00:00Z",
        "config": {},
        "environment": {"gpu": {"devices": [{"name": "NVIDIA H100 80GB HBM3"}]}},
        "results": [{
            "suite": "gemm",
            "name": "gemm",
            "params": {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"},
            "unit": "s",
            "samples": [0.002],
            "stats": {},
            "metrics": {"tflops": 650.0},
            "status": "ok",
        }],
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_doc))
    code, out, _ = run(
        capsys,
        "plan",
        "--model",
        "llama3-8b",
        "--hardware",
        str(path),
        "--gpus",
        "8",
        "--format",
        "json",
    )
    hw = json.loads(out)["inputs"]["hardware"]
    assert code == 0 and hw["run_id"] == "measured-1" and hw["name"] == "h100-sxm"
    assert hw["provenance"]["gemm_efficiency"]["kind"] == "measured"
    assert hw["provenance"]["nvlink_busbw"]["kind"] == "published"


@pytest.mark.parametrize("name", ["plan", "search", "validate", "catalog"])
def test_help_has_examples(capsys, name: str) -> None:
    code, out, _ = run(capsys, name, "--help")
    assert code == 0 and "Examples:" in out and f"exabench {name}" in out


def test_si_formatting_of_counts_and_units() -> None:
    from exabench.reports.fmt import MISSING, si

    assert si(1.41e12) == "1.41T" and si(4.05e11) == "405B"
    assert si(9.88e11, "B") == "988 GB" and si(5.68e12, "B") == "5.68 TB"
    assert si(None) == MISSING


def test_a_cluster_size_no_batch_splits_plans_on_the_largest_usable_part() -> None:
    import json

    from click.testing import CliRunner

    from exabench.cli import cli

    result = CliRunner().invoke(
        cli, ["plan", "--model", "llama3-70b", "--cluster", "colossus-100k", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["inputs"]["gpus"] == 98_304 and "100,000" in plan["inputs"]["gpus_note"]
    # Asked for explicitly, the count is the user's: no silent change, a hint instead.
    result = CliRunner().invoke(
        cli, ["plan", "--model", "llama3-70b", "--cluster", "colossus-100k", "--gpus", "100000"]
    )
    assert result.exit_code != 0 and "try 98,304 GPUs" in str(result.exception or result.output)


def test_plan_from_a_multinode_run_uses_its_measured_scaleout_bandwidth(capsys, tmp_path) -> None:
    """The same layout, planned on the published profile and on a 2-node Run whose all-reduce
    plateau is 20 GB/s per GPU (under half the RoCE model's 42.3): the data-parallel
    communication grows, and the Plan says where that bandwidth came from."""
    results = [
        {
            "suite": "collectives",
            "name": "all_reduce",
            "unit": "s",
            "samples": [0.01],
            "stats": {},
            "params": {"collective": "all_reduce", "bytes": mb << 20, "nranks": 16},
            "metrics": {"busbw_gbps": 20.0},
            "status": "ok",
        }
        for mb in (64, 256, 1024)
    ]
    run_doc = {
        "schema": "exabench.run/1",
        "id": "two-nodes",
        "created": "2026-01-01T00:00:00Z",
        "config": {"ranks": [{"rank": r, "host": f"node{r // 8}"} for r in range(16)]},
        "environment": {"gpu": {"devices": [{"name": "NVIDIA H100 80GB HBM3"}]}},
        "results": results,
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run_doc))
    layout = [
        "plan",
        "--model",
        "llama3-8b",
        "--cluster",
        "meta-24k-roce",
        "--gpus",
        "1024",
        "--tp",
        "1",
        "--pp",
        "1",
        "--zero",
        "1",
        "--mbs",
        "2",
        "--global-batch",
        "2048",
        "--format",
        "json",
    ]
    code, out, _ = run(capsys, *layout)
    published = json.loads(out)
    code2, out2, _ = run(capsys, *layout, "--hardware", str(path))
    measured = json.loads(out2)
    assert code == code2 == 0
    prov = measured["inputs"]["hardware"]["provenance"]["scaleout_busbw"]
    assert prov["kind"] == "measured" and "20.0 GB/s per GPU over 2 nodes" in prov["source"]
    assert (
        prov["value"] == "20.0 GB/s per GPU"
        and measured["inputs"]["hardware"]["scaleout_gbps"] == 20.0
    )
    assert "scaleout_gbps" not in published["inputs"]["hardware"]
    dp = [k for k in published["breakdown_s"] if k.startswith("dp")]
    assert dp and sum(measured["breakdown_s"][k] for k in dp) > sum(
        published["breakdown_s"][k] for k in dp
    )


def test_library_errors_name_fields_and_the_cli_names_its_flags() -> None:
    from exabench.commands._planning import flag_names

    with pytest.raises(UserError, match="^--global-batch = 3 must"), flag_names():
        raise UserError("global_batch = 3 must be a multiple of dp x mbs")
    with pytest.raises(UserError, match="^dp x tp = 4 must"), flag_names():
        raise UserError("dp x tp = 4 must divide gpus = 6")


# --- --framework and --set ----------------------------------------------------------------------

def plan_json(capsys, *args: str) -> dict:
    code, out, err = run(capsys, "plan", "--model", "llama3-8b", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_framework_and_set_change_the_plan_s_framework_and_why(capsys) -> None:
    default = plan_json(capsys, "--tp", "2")
    assert default["inputs"]["framework"]["name"] == "megatron"
    assert "megatron overlaps TP collectives" in default["why"]
    fsdp = plan_json(capsys, "--tp", "2", "--framework", "fsdp")
    framework = fsdp["inputs"]["framework"]
    assert framework["name"] == "fsdp" and framework["attention_kernel"] == "cudnn"
    assert framework["dp_bucket_mb"] == 0.0 and fsdp["inputs"]["layout"]["zero"] == 3
    assert ("fsdp overlaps TP collectives, DP reduce/gather (bucketed), ZeRO-3 gathers "
            "(prefetch)") in fsdp["why"]
    mine = plan_json(capsys, "--tp", "2", "--set", "tp_comm_overlap=false",
                     "--set", "cuda-graphs=on", "--set", "attention_kernel=fa3",
                     "--set", "dp_bucket_mb=25")
    framework = mine["inputs"]["framework"]
    assert framework["tp_comm_overlap"] is False and framework["cuda_graphs"] is True
    assert framework["attention_kernel"] == "fa3" and framework["dp_bucket_mb"] == 25.0
    assert "kernel launches (CUDA graphs); exposed: TP collectives" in mine["why"]
    assumed = {a["name"] for a in mine["inputs"]["assumptions"]}
    assert "tp_comm_overlap" not in assumed and "sequence_parallel" in assumed
    per_layer = plan_json(capsys, "--set", "dp_bucket_mb=layer")
    assert per_layer["inputs"]["framework"]["dp_bucket_mb"] == 0.0


def test_framework_from_a_toml_path(capsys, tmp_path) -> None:
    from exabench.workloads.tomlfile import DATA_DIR

    text = (DATA_DIR / "frameworks" / "fsdp.toml").read_text().replace(
        'name = "fsdp"', 'name = "my-fsdp"').replace("cuda_graphs = false", "cuda_graphs = true")
    path = tmp_path / "my-fsdp.toml"
    path.write_text(text)
    plan = plan_json(capsys, "--framework", str(path))
    assert plan["inputs"]["framework"]["name"] == "my-fsdp"
    assert plan["inputs"]["framework"]["cuda_graphs"] is True
    assert plan["why"].split(". ")[-1].startswith("my-fsdp overlaps")


KNOB_LIST = ("sequence_parallel, tp_comm_overlap, overlap_dp, dp_bucket_mb, pp_comm_overlap, "
             "cp_comm_overlap, ep_comm_overlap, fsdp_prefetch, cuda_graphs, attention_kernel, "
             "fused_elementwise, grad_reduce_bytes")


@pytest.mark.parametrize("args, knob, valid", [
    (["--set", "cuda_graphs=maybe"], "cuda_graphs", "valid: true or false"),
    (["--set", "tp_comm_overlap=1"], "tp_comm_overlap", "valid: true or false"),
    (["--set", "attention_kernel=fa4"], "attention_kernel", "valid: fa2, fa3, cudnn, unfused"),
    (["--set", "grad_reduce_bytes=3"], "grad_reduce_bytes", "valid: 2, 4"),
    (["--set", "dp_bucket_mb=-1"], "dp_bucket_mb", "valid: a number of MB in (0, 1,000,000] or "
                                                   "'layer'"),
    (["--set", "dp_bucket_mb=nan"], "dp_bucket_mb", "'layer'"),
    (["--set", "bogus=1"], "'bogus'", KNOB_LIST),
    (["--set", "=true"], "knob = ''", KNOB_LIST),
    (["--framework", "nope"], "'nope'", "shipped: deepspeed, fsdp, megatron"),
])
def test_bad_framework_options_exit_2_naming_the_knob(
    capsys, args: list[str], knob: str, valid: str
) -> None:
    code, out, err = run(capsys, "plan", "--model", "llama3-8b", *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert knob in err and valid in err


def test_search_takes_the_framework_options_too(capsys) -> None:
    code, out, err = run(capsys, "search", "--model", "llama3-8b", "--framework", "deepspeed",
                         "--set", "overlap_dp=false", "--top", "2", "--format", "json")
    assert code == 0, err
    layouts = json.loads(out)["layouts"]
    assert all(p["inputs"]["framework"]["name"] == "deepspeed" for p in layouts)
    assert all(p["inputs"]["framework"]["overlap_dp"] is False for p in layouts)


@pytest.mark.parametrize("setting", ["zero=3", "recompute=full"])
def test_set_of_a_searched_knob_is_no_traceback(capsys, setting: str) -> None:
    code, _, err = run(capsys, "plan", "--model", "llama3-8b", "--set", setting)
    name = setting.split("=")[0]
    assert code == 2 and "Traceback" not in err and f"use --{name}" in err


def test_set_without_a_value_says_so(capsys) -> None:
    code, _, err = run(capsys, "plan", "--model", "llama3-8b", "--set", "tp_comm_overlap")
    assert code == 2 and err.count("\n") == 1
    assert "'tp_comm_overlap' is not valid" not in err and "tp_comm_overlap=VALUE" in err


def test_parse_settings_types_each_knob() -> None:
    from exabench.commands._planning import parse_settings

    assert parse_settings(("tp_comm_overlap=false", "cuda-graphs = ON", "dp_bucket_mb=layer",
                           "grad_reduce_bytes=2", "attention_kernel=fa3", "dp_bucket_mb=12.5")) == {
        "tp_comm_overlap": False, "cuda_graphs": True, "dp_bucket_mb": 12.5,
        "grad_reduce_bytes": 2, "attention_kernel": "fa3"}
    assert parse_settings(("dp_bucket_mb=layer",)) == {"dp_bucket_mb": 0.0}
    assert parse_settings(()) == {}
