"""One byte parser for every option that takes a size: 1G = 1GB = 10^9 bytes, 1Gi = 1GiB = 2^30,
decimals accepted, a plain integer is bytes (it was 2^30 for collectives and 10^9 for memory)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from exabench.cli import cli, main
from exabench.commands._options import parse_bytes
from exabench.commands.bench import memory_command
from exabench.commands.bench_collectives import collectives_command
from exabench.errors import UserError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8", 8),
        ("64K", 64_000),
        ("64k", 64_000),
        ("1M", 10**6),
        ("1G", 10**9),
        ("1GB", 10**9),
        ("1gb", 10**9),
        ("1T", 10**12),
        ("1Ki", 1024),
        ("4KiB", 4096),
        ("1Mi", 2**20),
        ("1Gi", 2**30),
        ("1GiB", 2**30),
        ("1.5G", 1_500_000_000),
        ("1.5Gi", 3 * 2**29),
        (".5K", 500),
        (" 2 MB ", 2 * 10**6),
    ],
)
def test_si_prefixes_are_decimal_and_iec_prefixes_binary(text: str, value: int) -> None:
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "1X", "K", "1.5", "0.0001K", "", "1iB", "1e9", "1,5G"])
def test_not_a_positive_whole_number_of_bytes(text: str) -> None:
    with pytest.raises(
        UserError, match="--max-bytes .* is not valid; valid: a positive whole number"
    ):
        parse_bytes(text, "--max-bytes")


def test_every_size_option_uses_it() -> None:
    collectives = collectives_command.make_context(
        "collectives", ["--min-bytes", "1Gi", "--max-bytes", "1.5G"]
    )
    assert (
        collectives.params["min_bytes"] == 2**30
        and collectives.params["max_bytes"] == 1_500_000_000
    )
    memory = memory_command.make_context("memory", ["--sizes", "1G,1Gi,4096"])
    assert memory.params["sizes"] == (10**9, 2**30, 4096)


@pytest.mark.parametrize("command", [["bench", "memory"], ["bench", "collectives"]])
def test_help_says_what_a_prefix_means(command: list[str]) -> None:
    text = " ".join(CliRunner().invoke(cli, [*command, "--help"]).output.split())
    assert "10^9" in text and "2^30" in text and "1.5G" in text


def test_memory_sizes_end_to_end(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([
            "bench",
            "memory",
            "--device",
            "cpu",
            "--kernels",
            "copy",
            "--sizes",
            "1.5M,1Mi",
            "--warmup-ms",
            "1",
            "--rep-ms",
            "2",
            "--telemetry-hz",
            "0",
            "--json",
            "--out",
            str(tmp_path),
        ])
    assert exit_.value.code == 0
    run = json.loads(capsys.readouterr().out)
    assert [r["params"]["bytes"] for r in run["results"]] == [1_500_000, 2**20]


@pytest.mark.parametrize(("args", "message"), [
    (["bench", "memory", "--sizes", "64K,1.5"], "--sizes '1.5' is not valid"),
    (["bench", "collectives", "--max-bytes", "lots"], "--max-bytes 'lots' is not valid"),
])
def test_a_bad_size_is_one_line_and_exit_2(args: list[str], message: str, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--device", "cpu", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.strip().count("\n") == 0 and message in err
