#!/usr/bin/env bash
# The shell half of the GPU regression gate (examples/github-actions-gpu-regression.yml calls it;
# a GitLab or Jenkins job can call it the same way). Kept in one script so that a test can run
# the gate's logic on a CPU with pre-made Runs.
#
#   ci_gate.sh bench SIDE ARGS...  run `exabench bench ARGS... --out "$RUNS/SIDE"` (SIDE: base or
#                                  head), keep its exit code in "$GATE/bench-SIDE.code" and exit 0.
#                                  `bench` exits 1 when a result failed, but the Run holds every
#                                  result, failed ones included, and `compare` judges them: ok on
#                                  the base and failed on the head is a regression.
#   ci_gate.sh compare ARGS...     when both Runs exist, `exabench compare BASE HEAD ARGS...`;
#                                  writes "$GATE/comment.md" (the PR comment), "$GATE/compare.json"
#                                  and "$GATE/compare.code", adds `code=...` to $GITHUB_OUTPUT and
#                                  the comment to $GITHUB_STEP_SUMMARY when those are set; exits 0.
#   ci_gate.sh verdict             the job's result, from compare's exit code:
#                                    0 no regression              pass
#                                    1 regression                 fail
#                                    3 inconclusive               pass, with a warning
#                                    2 bad input (or a crash)     fail, with compare's error
#                                    no Run from the merge-base   pass, with a warning: a flaky
#                                                                 base must not fail the PR
#                                    no Run from the PR head      fail
#
# Environment: RUNS, the folder of Runs (base/ and head/ below it): what `exabench history` and
# `exabench report` read, so only `exabench bench` writes there. GATE, the gate's own files:
# beside RUNS, never inside it (history reads every *.json under RUNS and stops, exit 2, on one
# that is not a Run). EXABENCH, the command to run (default: exabench).
set -u

EXABENCH=${EXABENCH:-exabench}

die() {
    echo "ci_gate.sh: $*" >&2
    exit 2
}

# The two folders, made and checked: GATE must not lie inside RUNS.
folders() {
    [ -n "${RUNS:-}" ] || die "set RUNS to the folder of Runs (e.g. \$RUNNER_TEMP/exabench/runs)"
    [ -n "${GATE:-}" ] || die "set GATE to the gate's folder, beside RUNS (not inside it)"
    mkdir -p "$RUNS" "$GATE" || die "cannot make $RUNS and $GATE"
    local runs gate
    runs=$(cd "$RUNS" && pwd -P) || die "cannot enter $RUNS"
    gate=$(cd "$GATE" && pwd -P) || die "cannot enter $GATE"
    case "$gate/" in
        "$runs/"*)
            die "GATE ($GATE) is inside RUNS ($RUNS): exabench history would read its files as Runs"
            ;;
    esac
}

# The newest Run document in a folder (a Run being written keeps a <run>.json.journal beside it,
# which does not match), or nothing.
newest_run() {
    local newest="" path
    for path in "$1"/*.json; do
        [ -f "$path" ] || continue
        if [ -z "$newest" ] || [ "$path" -nt "$newest" ]; then
            newest=$path
        fi
    done
    printf '%s' "$newest"
}

bench() {
    [ $# -ge 1 ] || die "usage: ci_gate.sh bench base|head ARGS..."
    local side=$1
    shift
    case "$side" in
        base | head) ;;
        *) die "the side is base or head, not '$side'" ;;
    esac
    folders
    local code=0
    "$EXABENCH" bench "$@" --out "$RUNS/$side" || code=$?
    echo "$code" > "$GATE/bench-$side.code"
    if [ "$code" != 0 ]; then
        echo "::warning::exabench bench on the $side exited $code; compare judges the Run it wrote"
    fi
    return 0
}

# "exited N", or "did not run" when the step failed before it (checkout, install).
bench_status() {
    local code
    if code=$(cat "$GATE/bench-$1.code" 2>/dev/null); then
        printf 'exited %s' "$code"
    else
        printf 'did not run: the steps before it failed'
    fi
}

bench_note() {
    local side=$1 label=$2 code
    code=$(cat "$GATE/bench-$side.code" 2>/dev/null) || return 0
    if [ "$code" != 0 ]; then
        # shellcheck disable=SC2016  # the backquotes are Markdown
        printf '\n_`exabench bench` on the %s exited %s: its failed results are in its Run' \
            "$label" "$code"
        printf ' and compared above (ok on the base and failed on the head is a regression)._\n'
    fi
}

compare() {
    folders
    local base head code comment="$GATE/comment.md"
    base=$(newest_run "$RUNS/base")
    head=$(newest_run "$RUNS/head")
    rm -f "$GATE/compare.json" "$GATE/compare.md" "$GATE/compare.err"
    if [ -z "$head" ]; then
        code=no-head
        {
            echo "### exabench compare: :x: no Run from the PR head"
            echo
            echo "\`exabench bench\` on the PR head wrote no Run ($(bench_status head));" \
                "see the job log."
        } > "$comment"
    elif [ -z "$base" ]; then
        code=no-base
        {
            echo "### exabench compare: :warning: no Run from the merge-base"
            echo
            echo "\`exabench bench\` on the merge-base wrote no Run ($(bench_status base))," \
                "so there is nothing to compare the PR with. This does not fail the PR;" \
                "rerun the job to gate it."
        } > "$comment"
    else
        code=0
        "$EXABENCH" compare "$base" "$head" "$@" --format markdown \
            > "$GATE/compare.md" 2> "$GATE/compare.err" || code=$?
        if [ "$code" != 2 ] && [ ! -s "$GATE/compare.md" ]; then
            code="crashed-$code"  # a verdict always prints its table: this was a crash
        fi
        case "$code" in
            0 | 1 | 3)
                "$EXABENCH" compare "$base" "$head" "$@" --format json \
                    > "$GATE/compare.json" 2>> "$GATE/compare.err" || true
                ;;
        esac
        {
            case "$code" in
                0 | 1) ;;
                3)
                    echo "> [!WARNING]"
                    echo "> Inconclusive (exit 3): too few samples or too noisy to tell. This does"
                    echo "> not fail the PR; rerun the job or take more samples."
                    echo
                    ;;
                *)
                    echo "### exabench compare: :x: could not compare (exit ${code#crashed-})"
                    echo
                    echo '```'
                    tail -n 20 "$GATE/compare.err"
                    echo '```'
                    echo
                    ;;
            esac
            cat "$GATE/compare.md"
            bench_note base "merge-base"
            bench_note head "PR head"
        } > "$comment"
    fi
    echo "$code" > "$GATE/compare.code"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "code=$code" >> "$GITHUB_OUTPUT"
    fi
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat "$comment" >> "$GITHUB_STEP_SUMMARY"
    fi
    cat "$comment"
    return 0
}

verdict() {
    folders
    local code
    code=$(cat "$GATE/compare.code" 2>/dev/null) || {
        echo "::error::no verdict: 'ci_gate.sh compare' did not run"
        return 1
    }
    case "$code" in
        0) echo "no regression" ;;
        1) echo "::error::performance regression (see the PR comment)"; return 1 ;;
        3)
            echo "::warning::inconclusive: too few samples or too noisy to tell;" \
                "rerun or take more samples"
            ;;
        no-base)
            echo "::warning::the merge-base wrote no Run: nothing to compare, the PR is not gated"
            ;;
        no-head) echo "::error::the PR head wrote no Run (see the bench step)"; return 1 ;;
        *)
            echo "::error::exabench compare failed (exit ${code#crashed-}):" \
                "$(head -n 1 "$GATE/compare.err" 2>/dev/null)"
            return 1
            ;;
    esac
    return 0
}

case "${1:-}" in
    bench | compare | verdict)
        command=$1
        shift
        "$command" "$@"
        ;;
    *) die "usage: ci_gate.sh bench base|head ARGS... | compare ARGS... | verdict" ;;
esac
