from __future__ import annotations

import pytest

from exabench.errors import UserError
from exabench.workloads.published import load_published, parse_published


def test_shipped_published_runs() -> None:
    runs = load_published()
    ids = {r.id for r in runs}
    assert len(ids) == len(runs) >= 60
    assert len({r.group for r in runs}) >= 6  # independent sources, for leave-one-source-out
    assert {
        "sc21-t1-1008b",
        "korthikanti-175b-seqsel",
        "llama3-405b-16k-gpus",
        "bloom-176b-384-gpus",
    } <= ids
    assert all(r.source and r.published > 0 for r in runs)
    row = next(r for r in runs if r.id == "korthikanti-175b-seqsel")
    assert (
        row.settings["recompute"] == "selective"
        and row.settings["vp"] == 3
        and row.published == 13.75
    )


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {
                "source": "s",
                "hardware": "h",
                "cluster": "c",
                "metric": "speed",
                "runs": [{"id": "a", "model": "m", "gpus": 1, "published": 1}],
            },
            "metric = 'speed'",
        ),
        (
            {
                "source": "s",
                "hardware": "h",
                "cluster": "c",
                "metric": "mfu",
                "runs": [{"id": "a", "model": "m", "gpus": 1, "published": 1, "tq": 2}],
            },
            "unknown key 'tq'",
        ),
        (
            {
                "source": "s",
                "hardware": "h",
                "cluster": "c",
                "metric": "mfu",
                "runs": [{"id": "a", "model": "m", "gpus": 1}],
            },
            "missing 'published'",
        ),
        ({"source": "s", "year": 2021}, "unknown key 'year'"),
        (
            {
                "source": "s",
                "hardware": "h",
                "cluster": "c",
                "metric": "mfu",
                "runs": [{"id": "a", "model": "m", "gpus": 1, "published": 1,
                          "tp_comm_overlap": "yes"}],
            },
            "tp_comm_overlap = 'yes' is not valid; valid: true or false",
        ),
        (
            {
                "source": "s",
                "hardware": "h",
                "cluster": "c",
                "metric": "mfu",
                "runs": [{"id": "a", "model": "m", "gpus": 1, "published": 1,
                          "attention_kernel": "fa9"}],
            },
            "attention_kernel = 'fa9' is not valid",
        ),
    ],
)
def test_bad_published_files(doc: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_published(doc, "p.toml")


def test_a_run_s_group_is_its_file_unless_the_file_names_one() -> None:
    doc = {"source": "s", "hardware": "h", "cluster": "c", "metric": "mfu",
           "runs": [{"id": "a", "model": "m", "gpus": 1, "published": 1,
                     "dp_bucket_mb": "layer"}]}
    [run] = parse_published(doc, "p.toml", group="p")
    assert run.group == "p" and run.settings["dp_bucket_mb"] == 0.0  # one layer per bucket
    [run] = parse_published({**doc, "group": "paper"}, "p.toml", group="p")
    assert run.group == "paper"
