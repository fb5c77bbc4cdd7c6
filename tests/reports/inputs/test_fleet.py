"""Fleet summaries as report inputs: told apart by schema, checked field by field, and each
GPU's figures read back from the rank Runs beside fleet.json (or absent, and said so)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from exabench.documents import FLEET_SCHEMA
from exabench.errors import UserError
from exabench.reports.inputs.documents import FleetDocument, classify, load_inputs
from exabench.reports.inputs.fleet import check_fleet
from exabench.testing.samples_fleet import sample_fleet, write_fleet


@pytest.fixture(scope="module")
def sample():
    return sample_fleet()


def _without_values(sample):
    """The sample as a summary without per-GPU values (written before they were kept): the
    report must read each GPU's figures back from the rank Runs."""
    old = copy.deepcopy(sample)
    for fig in old["fleet"]["figures"]:
        fig.pop("values")
    return old


def test_gpus_come_from_the_summarys_own_values_without_reading_a_run(tmp_path, sample):
    path = write_fleet(tmp_path, sample)
    shutil.rmtree(path.parent / "rank00005")  # not needed: no Run is read
    [fleet] = load_inputs([path]).fleets
    assert fleet.gpus == sample["gpus"] and fleet.missing == [] and fleet.run_files == []


def test_the_sample_is_a_fleet_summary_of_64_gpus_on_8_nodes(sample):
    [document] = classify(copy.deepcopy(sample["fleet"]), "fleet.json")
    assert isinstance(document, FleetDocument) and document.kind == "fleet"
    assert document.doc["schema"] == FLEET_SCHEMA and (
        document.doc["gpus"],
        document.doc["nodes"],
    ) == (64, 8)
    assert [g["rank"] for g in document.doc["flagged_gpus"]] == [13, 42]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.update(schema="exabench.fleet/2"), "is not supported"),
        (lambda d: d.pop("figures"), "lacks figures"),
        (lambda d: d.update(gpus="64"), "'gpus' must be a whole number, not '64'"),
        (lambda d: d.update(threshold_z=True), "'threshold_z' must be a finite number"),
        (
            lambda d: d["figures"][0].update(max=float("nan")),
            "figures[0].max must be a finite number, not nan",
        ),
        (
            lambda d: d["flagged_nodes"].append({"gpus": 8}),
            "flagged_nodes[2].host must be a host name",
        ),
        (lambda d: d.update(figures={}), "'figures' must be a list"),
        (
            lambda d: d["figures"][1].pop("median"),
            "figures[1].median must be a finite number, not None",
        ),
        (
            lambda d: d["figures"][1]["outliers"][0].update(rank="13"),
            "figures[1].outliers[0].rank must be a rank number",
        ),
        (lambda d: d["flagged_gpus"].append(7), "flagged_gpus[2] must be an object"),
        (lambda d: d.update(runs=[]), "'runs' must be an object"),
        (lambda d: d["figures"][0].update(values={}), "figures[0].values must be a list"),
        (
            lambda d: d["figures"][0]["values"].append([3, float("inf")]),
            "must be a [rank, finite value] pair, not [3, inf]",
        ),
    ],
)
def test_a_malformed_summary_is_one_line_naming_the_field(sample, change, says):
    doc = copy.deepcopy(sample["fleet"])
    change(doc)
    with pytest.raises(UserError) as error:
        check_fleet(doc, source="f.json")
    assert says in error.value.message and error.value.message.startswith("f.json: ")
    assert "\n" not in error.value.message


def test_gpus_are_read_from_the_runs_beside_fleet_json(tmp_path, sample):
    path = write_fleet(
        tmp_path, _without_values(sample)
    )  # the summary names /scratch/..., a folder that is not here
    inputs = load_inputs([path])
    [fleet] = inputs.fleets
    assert not inputs.runs and fleet.missing == [] and len(fleet.gpus) == 64
    assert fleet.gpus == sample["gpus"]  # the same figures rank 0 summarized, collectives included
    assert len(fleet.run_files) == 65 and fleet.run_files[-1].endswith("collectives.json")


def test_the_fleet_folder_is_the_summary_and_its_runs(tmp_path, sample):
    path = write_fleet(tmp_path, sample)
    inputs = load_inputs([path.parent])
    assert len(inputs.fleets) == 1 and len(inputs.runs) == 65


def test_runs_not_found_are_listed_and_a_bad_one_stops(tmp_path, sample):
    path = write_fleet(tmp_path, _without_values(sample))
    shutil.rmtree(path.parent / "rank00005")
    [fleet] = load_inputs([path]).fleets
    assert fleet.missing == [5] and len(fleet.gpus) == 63
    (path.parent / "rank00006" / f"{sample['runs'][6]['id']}.json").write_text(
        json.dumps({"schema": "exabench.run/1"})
    )
    with pytest.raises(UserError, match="rank00006.*lacks"):
        load_inputs([path])
    alone = tmp_path / "elsewhere.json"
    alone.write_text(path.read_text())
    shutil.rmtree(path.parent)
    [fleet] = load_inputs([alone]).fleets
    assert fleet.gpus == [] and fleet.missing == list(range(64))
