"""The example CI gate (``examples/github-actions-gpu-regression.yml`` and the script it calls,
``examples/ci_gate.sh``) as a tested artifact.

The workflow's own shell steps run here on a CPU, in order, the way a GitHub runner runs them
(``bash -e``, ``$GITHUB_ENV``, ``$GITHUB_OUTPUT``, ``${{ }}`` expressions, ``if:`` and
``continue-on-error``). ``git``, ``pip``, ``python3 -m venv``, ``nvidia-smi``, ``gh`` and
``exabench bench`` are stand-ins: the bench stand-in drops a pre-made Run into its ``--out``
folder and exits with the code the real ``exabench bench`` gives (1 when a result failed).
``exabench compare`` and ``exabench history`` are the real ones.

Defects of issue 19 these tests reproduce (each fails on the workflow before the fix):
2. ``compare.json`` written into the Runs folder breaks ``exabench history``:
   :func:`test_no_step_writes_into_the_runs_folder`,
   :func:`test_planted_slowdown_fails_the_job_with_a_comment_and_history_still_reads_the_runs`.
3. a failed benchmark stops the job before ``compare``:
   :func:`test_a_failed_head_result_reaches_compare_and_fails_the_pr`,
   :func:`test_a_flaky_base_does_not_fail_the_pr`.
4. forks: :func:`test_the_job_runs_only_for_branches_of_this_repository`,
   :func:`test_permissions_are_explicit_and_minimal`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exabench.testing.synthetic_runs import environment, gemm_result, gemm_run

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions-gpu-regression.yml"
GATE_SCRIPT = ROOT / "examples" / "ci_gate.sh"
REPOSITORY = "acme/exabench"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the CI gate runs in bash")


def load_workflow() -> dict[str, Any]:
    yaml = pytest.importorskip(
        "yaml",
        reason="PyYAML is not installed (pip install pyyaml); the workflow file is YAML",
    )
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def the_job(workflow: dict[str, Any]) -> dict[str, Any]:
    jobs = workflow["jobs"]
    assert len(jobs) == 1, f"one job expected, found {sorted(jobs)}"
    return next(iter(jobs.values()))


# --- GitHub Actions expressions: the small part of the language the workflow uses ------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<num>\d+)"
    r"|(?P<name>[A-Za-z_][\w.\-]*))"
)
_STATUS = re.compile(r"\b(always|success|failure|cancelled)\(\)")


def lookup(context: dict[str, Any], name: str) -> Any:
    value: Any = context
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""  # GitHub gives null, which equals '' in its loose comparisons
        value = value[part]
    return value


def evaluate(expression: str, context: dict[str, Any], *, failed: bool = False) -> Any:
    """An ``if:`` or ``${{ }}`` expression: literals, context paths, ``== != && || ! ( )`` and the
    status functions; anything else is refused, so the test never guesses."""
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    status = {"always": True, "success": not failed, "failure": failed, "cancelled": False}
    literals = {"true": True, "false": False, "null": ""}
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported expression {expression!r} at {text[pos:]!r}")
        pos = match.end()
        if match["str"] is not None:
            out.append(repr(match["str"][1:-1].replace("''", "'")))
        elif match["op"] is not None:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(match["op"], match["op"]))
        elif match["num"] is not None:
            out.append(match["num"])
        elif text[pos:pos + 2] == "()":
            out.append(repr(status[match["name"]]))
            pos += 2
        elif match["name"] in literals:
            out.append(repr(literals[match["name"]]))
        else:
            out.append(repr(lookup(context, match["name"])))
    return eval("".join(out), {"__builtins__": {}}, {})  # only repr()s and operators


def render(text: str, context: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        value = evaluate(match[1], context)
        return {True: "true", False: "false"}.get(value, str(value)) if value != "" else ""

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


def step_runs(step: dict[str, Any], context: dict[str, Any], failed: bool) -> bool:
    condition = step.get("if")
    if condition is None:
        return not failed
    condition = str(condition).strip()
    if condition.startswith("${{") and condition.endswith("}}"):
        condition = condition[3:-2]
    if not _STATUS.search(condition):
        condition = f"success() && ({condition})"
    return bool(evaluate(condition, context, failed=failed))


# --- stand-ins for the tools a GPU runner has --------------------------------------------------

FAKE_EXABENCH = '''#!{python}
"""exabench, except `bench` (drops the scenario's Run into --out) and `env`."""
import os, shutil, sys
args = sys.argv[1:]
if args[:1] == ["bench"]:
    out = args[args.index("--out") + 1]
    side = os.path.basename(out.rstrip("/"))
    scenario = os.environ["FAKE_SCENARIO"]
    with open(os.path.join(os.environ["FAKE_LOG"], "bench.log"), "a") as log:
        log.write(side + "\\n")
    os.makedirs(out, exist_ok=True)
    run = os.path.join(scenario, side + ".json")
    if os.path.exists(run):
        shutil.copy(run, os.path.join(out, "20250101T000000Z_node1_" + side + ".json"))
    with open(os.path.join(scenario, side + ".code")) as code:
        sys.exit(int(code.read()))
if args[:1] == ["env"]:
    print("fake environment")
    sys.exit(0)
from exabench.cli import main
main(args)
'''

FAKES = {
    "python3": '''#!/usr/bin/env bash
if [ "$1" = -m ] && [ "$2" = venv ]; then
    mkdir -p "$3/bin" && echo ': stand-in venv' > "$3/bin/activate"; exit 0
fi
exec "{python}" "$@"
''',
    "git": '''#!/usr/bin/env bash
case "$1" in
    merge-base) echo 1111111111111111111111111111111111111111 ;;
    worktree) [ "$2" = add ] && mkdir -p "$3" ;;
esac
exit 0
''',
    "pip": '''#!/usr/bin/env bash
case "$*" in *"/base[bench]"*) [ -n "${FAKE_BASE_INSTALL_FAILS:-}" ] && exit 1 ;; esac
exit 0
''',
    "nvidia-smi": "#!/usr/bin/env bash\necho 'name, driver_version'\n",
    "gh": '''#!/usr/bin/env bash
while [ $# -gt 0 ]; do
    [ "$1" = --body-file ] && cp "$2" "$FAKE_LOG/posted-comment.md"
    shift
done
''',
}


def make_fakes(folder: Path) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in {"exabench": FAKE_EXABENCH, **FAKES}.items():
        path = bin_dir / name
        path.write_text(text.replace("{python}", sys.executable))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


# --- the job ------------------------------------------------------------------------------------

@dataclass
class Job:
    ran: bool
    passed: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    """Each step's outcome: success, failure or skipped."""
    logs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path = Path()

    @property
    def comment(self) -> str | None:
        path = self.log_dir / "posted-comment.md"
        return path.read_text() if path.exists() else None

    def benched(self) -> list[str]:
        path = self.log_dir / "bench.log"
        return path.read_text().split() if path.exists() else []


def read_pairs(path: Path) -> dict[str, str]:
    pairs = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                pairs[key] = value
    return pairs


def github_context(head_repo: str = REPOSITORY) -> dict[str, Any]:
    return {
        "repository": REPOSITORY,
        "base_ref": "main",
        "sha": "2" * 40,
        "token": "stand-in-token",
        "event": {"pull_request": {"number": 19, "head": {"repo": {"full_name": head_repo}}}},
    }


def run_job(tmp_path: Path, scenario: Path, *, extra_env: dict[str, str] | None = None) -> Job:
    """Run the workflow's one job as a runner would, with the stand-ins on PATH."""
    workflow = load_workflow()
    job_spec = the_job(workflow)
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    bin_dir = make_fakes(tmp_path / "fakes")
    workspace = tmp_path / "workspace"  # the checkout
    (workspace / "examples").mkdir(parents=True)
    if GATE_SCRIPT.exists():
        shutil.copy(GATE_SCRIPT, workspace / "examples" / GATE_SCRIPT.name)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    job_env: dict[str, str] = {}
    for level in (workflow, job_spec):
        job_env.update({k: str(v) for k, v in (level.get("env") or {}).items()})
    context: dict[str, Any] = {
        "github": github_context(), "runner": {"temp": str(temp)}, "env": job_env, "steps": {},
    }
    if "if" in job_spec and not evaluate(str(job_spec["if"]), context):
        return Job(ran=False, passed=True, log_dir=log_dir)
    base_env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(temp),
        "FAKE_SCENARIO": str(scenario),
        "FAKE_LOG": str(log_dir),
        "GITHUB_STEP_SUMMARY": str(log_dir / "summary.md"),
        **(extra_env or {}),
    }
    job = Job(ran=True, passed=True, log_dir=log_dir)
    failed = False
    for index, step in enumerate(job_spec["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        if not step_runs(step, context, failed):
            job.outcomes[name] = "skipped"
            continue
        if "uses" in step:  # actions (checkout, upload-artifact) are the runner's business
            job.outcomes[name] = "success"
            continue
        script = tmp_path / f"step{index}.sh"
        script.write_text(render(step["run"], context))
        files = {key: tmp_path / f"step{index}.{key}" for key in ("GITHUB_ENV", "GITHUB_OUTPUT")}
        env = {**base_env, **job_env, **{k: str(p) for k, p in files.items()}}
        env.update({k: render(str(v), context) for k, v in (step.get("env") or {}).items()})
        shell = step.get("shell") or job_spec.get("defaults", {}).get("run", {}).get("shell")
        argv = (["bash", "--noprofile", "--norc", "-eo", "pipefail"] if shell == "bash"
                else ["bash", "-e"])
        done = subprocess.run([*argv, str(script)], cwd=workspace, env=env, capture_output=True,
                              text=True, timeout=60)
        job.logs[name] = done.stdout + done.stderr
        outcome = "success" if done.returncode == 0 else "failure"
        job.outcomes[name] = outcome
        job_env.update(read_pairs(files["GITHUB_ENV"]))
        if "id" in step:
            context["steps"][step["id"]] = {
                "outputs": read_pairs(files["GITHUB_OUTPUT"]),
                "outcome": outcome,
                "conclusion": "success" if step.get("continue-on-error") else outcome,
            }
        if outcome == "failure" and not step.get("continue-on-error"):
            failed = True
    job.passed = not failed
    job.env = dict(job_env)
    return job


# --- scenarios: what each side's `exabench bench` leaves behind ----------------------------------

def runs(*, slowdown: float = 1.0, samples: int = 20) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(0)
    base = gemm_run("base", rng, results=3, samples=samples)
    head = gemm_run("head", rng, results=3, samples=samples, slowdown=slowdown)
    return base, head


def fail_one(run: dict[str, Any]) -> dict[str, Any]:
    """The Run with its first result failed, as `bench` records a wrong result."""
    size = run["results"][0]["params"]["m"]
    failed = gemm_result(size, [], status="failed")
    failed["error"] = "wrong result: max relative error 0.4 > 0.02"
    run["results"][0] = failed
    return run


def scenario(folder: Path, base: dict[str, Any] | None, base_code: int,
             head: dict[str, Any] | None, head_code: int) -> Path:
    folder.mkdir()
    for side, doc, code in (("base", base, base_code), ("head", head, head_code)):
        if doc is not None:
            (folder / f"{side}.json").write_text(json.dumps(doc))
        (folder / f"{side}.code").write_text(str(code))
    return folder


def history(runs_dir: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exabench", "history", runs_dir],
                          capture_output=True, text=True, timeout=60)


def gate_files(job: Job) -> Path:
    """Where the gate left comment.md: beside the Runs folder, not inside it."""
    found = [p.parent for p in Path(job.env["RUNS"]).parent.rglob("comment.md")]
    assert len(found) == 1, found
    return found[0]


# --- defect 4: forks and permissions ----------------------------------------------------------

def test_the_job_runs_only_for_branches_of_this_repository() -> None:
    workflow = load_workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request_target" not in triggers, "pull_request_target runs with a write token"
    job = the_job(workflow)
    assert "if" in job, "the GPU job must not run a fork's code on the self-hosted runner"
    same = {"github": github_context(REPOSITORY)}
    fork = {"github": github_context("someone/exabench")}
    assert evaluate(str(job["if"]), same) is True
    assert evaluate(str(job["if"]), fork) is False
    assert "fork" in WORKFLOW.read_text().lower(), "the example says why it guards forks"


def test_permissions_are_explicit_and_minimal() -> None:
    workflow = load_workflow()
    job = the_job(workflow)
    assert "permissions" in job or "permissions" in workflow, "the token's scope must be explicit"
    minimal = {"contents": "read", "pull-requests": "write"}
    effective = job.get("permissions", workflow.get("permissions"))
    assert effective == minimal, effective
    assert workflow.get("permissions", {}) in ({}, minimal), "no wider default for other jobs"


# --- defect 2: the Runs folder holds Runs only ------------------------------------------------

_INTO_RUNS = re.compile(r"(?:>>?|\btee\b(?:\s+-a)?)\s*\"?\$\{?RUNS\b")


def test_no_step_writes_into_the_runs_folder() -> None:
    steps = the_job(load_workflow())["steps"]
    texts = {step.get("name", "?"): step.get("run", "") for step in steps}
    if GATE_SCRIPT.exists():
        texts[GATE_SCRIPT.name] = GATE_SCRIPT.read_text()
    offenders = {name: _INTO_RUNS.findall(text) for name, text in texts.items()}
    assert not {k: v for k, v in offenders.items() if v}, (
        "exabench history reads every *.json under RUNS; keep the gate's files beside it"
    )


def test_planted_slowdown_fails_the_job_with_a_comment_and_history_still_reads_the_runs(
    tmp_path: Path,
) -> None:
    base, head = runs(slowdown=1.10)
    job = run_job(tmp_path, scenario(tmp_path / "scenario", base, 0, head, 0))
    assert job.benched() == ["base", "head"]
    assert not job.passed
    assert job.outcomes["Fail on a regression"] == "failure", job.logs
    assert job.comment is not None and "regression" in job.comment
    assert "| 🔴 regressed |" in job.comment
    done = history(job.env["RUNS"])
    assert done.returncode == 0, done.stderr
    assert "2 runs" in done.stdout
    gate = gate_files(job)
    assert json.loads((gate / "compare.json").read_text())["verdict"] == "regressed"
    assert (gate / "compare.code").read_text().strip() == "1"


# --- defect 3: a failed benchmark still reaches compare; the base never fails the PR alone -----

def test_a_failed_head_result_reaches_compare_and_fails_the_pr(tmp_path: Path) -> None:
    base, head = runs()
    job = run_job(tmp_path, scenario(tmp_path / "scenario", base, 0, fail_one(head), 1))
    assert job.outcomes["Compare"] == "success", job.logs
    assert job.comment is not None, "the author is told why"
    assert "regressed" in job.comment and "ok | failed" in job.comment
    assert "exited 1" in job.comment
    assert not job.passed
    assert job.outcomes["Fail on a regression"] == "failure"
    assert history(job.env["RUNS"]).returncode == 0


@pytest.mark.parametrize("how", ["a failed result", "no Run at all"])
def test_a_flaky_base_does_not_fail_the_pr(tmp_path: Path, how: str) -> None:
    base, head = runs()
    if how == "a failed result":
        folder = scenario(tmp_path / "scenario", fail_one(base), 1, head, 0)
        job = run_job(tmp_path, folder)
        assert job.comment is not None and "improved" in job.comment
    else:  # the base cannot even be installed
        folder = scenario(tmp_path / "scenario", base, 0, head, 0)
        job = run_job(tmp_path, folder, extra_env={"FAKE_BASE_INSTALL_FAILS": "1"})
        assert job.benched() == ["head"]
        assert job.comment is not None and "no Run from the merge-base" in job.comment
        assert "::warning::" in job.logs["Fail on a regression"]
    assert job.passed, job.logs
    assert job.outcomes["Fail on a regression"] == "success"


# --- the gate's decision from compare's exit code, through the script alone (no YAML needed) --

def gate(tmp_path: Path, base: dict[str, Any], head: dict[str, Any] | None,
         head_code: int = 0) -> tuple[int, str, Path]:
    """bench (stand-in) base and head, compare, verdict: the script as the workflow calls it."""
    bin_dir = make_fakes(tmp_path / "fakes")
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    folder = scenario(tmp_path / "scenario", base, 0, head, head_code)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "RUNS": str(tmp_path / "out" / "runs"), "GATE": str(tmp_path / "out" / "gate"),
           "FAKE_SCENARIO": str(folder), "FAKE_LOG": str(log_dir)}

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(GATE_SCRIPT), *args], env=env, capture_output=True,
                              text=True, timeout=60)

    for side in ("base", "head"):
        assert script("bench", side, "all", "--quick").returncode == 0
    assert script("compare", "--alpha", "0.01", "--threshold", "5").returncode == 0
    done = script("verdict")
    return done.returncode, done.stdout, tmp_path / "out" / "gate"


def test_inconclusive_passes_with_a_warning_comment(tmp_path: Path) -> None:
    code, out, gate_dir = gate(tmp_path, *runs(slowdown=1.10, samples=3))
    assert code == 0
    assert "::warning::inconclusive" in out
    assert "[!WARNING]" in (gate_dir / "comment.md").read_text()


def test_bad_input_fails_with_compares_error(tmp_path: Path) -> None:
    base, head = runs()
    head["environment"] = environment("fp-other", torch="2.5.0")
    code, out, gate_dir = gate(tmp_path, base, head)
    assert code == 1
    assert "::error::exabench compare failed (exit 2)" in out
    comment = (gate_dir / "comment.md").read_text()
    assert "could not compare (exit 2)" in comment and "software.torch" in comment


def test_no_run_from_the_head_fails(tmp_path: Path) -> None:
    base, _ = runs()
    code, out, gate_dir = gate(tmp_path, base, None, head_code=1)
    assert code == 1
    assert "::error::the PR head wrote no Run" in out
    assert "wrote no Run (exited 1)" in (gate_dir / "comment.md").read_text()


def test_the_gate_refuses_to_keep_its_files_inside_the_runs_folder(tmp_path: Path) -> None:
    env = {**os.environ, "RUNS": str(tmp_path / "runs"), "GATE": str(tmp_path / "runs" / "gate")}
    done = subprocess.run(["bash", str(GATE_SCRIPT), "verdict"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "inside RUNS" in done.stderr
