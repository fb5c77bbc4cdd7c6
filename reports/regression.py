"""Text and Markdown renderings of ``compare`` and ``history`` documents.

The terminal table follows the nccl-tests layout (a row of names, a row of units, fixed widths,
a footer); the Markdown leads with the verdict and its counts, lists what changed, and folds
the unchanged rows away, so it reads well as a pull-request comment (CodSpeed's PR report).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ICONS = {"regressed": "🔴", "improved": "🟢", "inconclusive": "🟡", "unchanged": "⚪"}
HEADLINE = {"regressed": ":x: regression", "inconclusive": ":warning: inconclusive",
            "improved": ":white_check_mark: improved", "unchanged": ":white_check_mark: no change"}


def fmt_value(value: Any, metric: str) -> str:
    """A value with its unit: times scaled to s/ms/us/ns, throughputs to 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if metric == "time":
        for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {unit}"
        return f"{value * 1e9:.4g} ns"
    unit = {
        "tflops": " TFLOP/s",
        "gbps": " GB/s",
        "algbw_gbps": " GB/s",
        "busbw_gbps": " GB/s",
    }.get(metric, "")
    return f"{value:.4g}{unit}"


def fmt_change(row: Mapping[str, Any]) -> str:
    return "-" if row.get("change_pct") is None else f"{row['change_pct']:+.1f} %"


def fmt_ci(row: Mapping[str, Any]) -> str:
    ci = row.get("ci")
    return "-" if not ci else f"[{100 * (ci[0] - 1):+.1f}, {100 * (ci[1] - 1):+.1f}] %"


def fmt_p(row: Mapping[str, Any]) -> str:
    return "-" if row.get("p_value") is None else f"{row['p_value']:.2g}"


def bench_label(row: Mapping[str, Any]) -> str:
    params = ",".join(f"{k}={v}" for k, v in row["params"].items() if k not in ("backend",))
    return f"{row['suite']}/{row['name']} {params}".strip()


def throttle_note(row: Mapping[str, Any]) -> str:
    sides = [side for side in ("base", "new") if row["throttled"][side]["throttled"]]
    return f"THROTTLED({'+'.join(sides)})" if sides else ""


def compare_table(doc: Mapping[str, Any]) -> str:
    level = f"{100 * (1 - doc['alpha']):g}% CI"
    head = ("verdict", "benchmark", "metric", "base", "new", "change", level, "p")
    rows = [
        (
            r["verdict"].upper() if r["verdict"] in ("regressed", "inconclusive") else r["verdict"],
            bench_label(r),
            r["metric"],
            fmt_value(r["base"], r["metric"]),
            fmt_value(r["new"], r["metric"]),
            fmt_change(r),
            fmt_ci(r),
            fmt_p(r),
        )
        for r in doc["results"]
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = [
        f"# exabench compare: {doc['base']['id']} -> {doc['new']['id']}  (alpha {doc['alpha']:g},"
        f" threshold ±{doc['threshold_pct']:g} %, max cv {doc['max_cv_pct']:g} %)"
    ]
    if doc["fingerprint_differences"]:
        lines.append("# WARNING: different fingerprints (--force): " + _fp_text(doc))
    lines.append("# " + "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for row, source in zip(rows, doc["results"], strict=True):
        text = "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        extra = [
            throttle_note(source),
            source["reason"] if source["verdict"] != "unchanged" else "",
        ]
        lines.append((text.rstrip() + "  " + " ".join(x for x in extra if x)).rstrip())
    for item in doc["not_compared"]:
        lines.append(f"  {'skipped':<{widths[0]}}  {bench_label(item)}: {item['reason']}")
    lines.append(f"# Verdict: {doc['verdict'].upper()} ({_counts(doc)})")
    if doc["base_only"] or doc["new_only"]:
        lines.append(
            f"# Unmatched: {len(doc['base_only'])} only in base, {len(doc['new_only'])} only in new"
        )
    return "\n".join(lines)


def _counts(doc: Mapping[str, Any]) -> str:
    return ", ".join(f"{n} {v}" for v, n in doc["counts"].items())


def _fp_text(doc: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{d['field']}: {d['base']} vs {d['new']}" for d in doc["fingerprint_differences"]
    )


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_rows(rows: list[Mapping[str, Any]], level: str) -> list[str]:
    lines = [f"| | benchmark | metric | base | new | change | {level} | p |",
             "|---|---|---|---:|---:|---:|---|---:|"]
    for r in rows:
        note = f" ⚠️ {throttle_note(r).lower()}" if throttle_note(r) else ""
        lines.append(
            f"| {ICONS[r['verdict']]} {r['verdict']}{note} | `{_md(bench_label(r))}` |"
            f" {r['metric']} | {_md(fmt_value(r['base'], r['metric']))} |"
            f" {_md(fmt_value(r['new'], r['metric']))} | {fmt_change(r)} | {fmt_ci(r)} |"
            f" {fmt_p(r)} |"
        )
    return lines


def compare_markdown(doc: Mapping[str, Any]) -> str:
    """A pull-request comment: verdict, counts, what changed, then the rest folded away."""
    level = f"{100 * (1 - doc['alpha']):g} % CI"
    base, new = doc["base"], doc["new"]

    def run_ref(run: Mapping[str, Any]) -> str:
        commit = f" @ `{run['commit'][:10]}`" if run.get("commit") else ""
        return f"`{_md(run['id'])}`{commit}"

    lines = [
        f"### exabench compare: {HEADLINE[doc['verdict']]}",
        "",
        (
            f"**{doc['counts']['regressed']} regressed**, {doc['counts']['inconclusive']}"
            f" inconclusive, {doc['counts']['improved']} improved, {doc['counts']['unchanged']}"
            f" unchanged · {run_ref(base)} → {run_ref(new)}"
        ),
        "",
        (
            f"A verdict needs a Mann-Whitney U p < {doc['alpha']:g} **and** a change beyond"
            f" ±{doc['threshold_pct']:g} % (ratio of medians, bootstrap CI); noisy (cv >"
            f" {doc['max_cv_pct']:g} %) or too few samples give *inconclusive*."
        ),
    ]
    if doc["fingerprint_differences"]:
        lines += ["", f"> ⚠️ Compared across different machines (`--force`): {_md(_fp_text(doc))}"]
    order = {"regressed": 0, "inconclusive": 1, "improved": 2}
    changed = sorted(
        (r for r in doc["results"] if r["verdict"] != "unchanged"),
        key=lambda r: order[r["verdict"]],
    )
    same = [r for r in doc["results"] if r["verdict"] == "unchanged"]
    if changed:
        lines += ["", *_md_rows(changed, level)]
        reasons = [f"- `{_md(bench_label(r))}` {r['metric']}: {_md(r['reason'])}"
                   for r in changed if r["verdict"] == "inconclusive"]
        if reasons:
            lines += [
                "",
                "<details><summary>Why inconclusive</summary>",
                "",
                *reasons,
                "",
                "</details>",
            ]
    if same:
        lines += [
            "",
            f"<details><summary>{len(same)} unchanged</summary>",
            "",
            *_md_rows(same, level),
            "",
            "</details>",
        ]
    if doc["not_compared"] or doc["base_only"] or doc["new_only"]:
        lines += ["", f"Not compared: {len(doc['not_compared'])} skipped or failed in both, "
                      f"{len(doc['base_only'])} only in base, {len(doc['new_only'])} only in new."]
    return "\n".join(lines)


def history_table(doc: Mapping[str, Any]) -> str:
    """Per fingerprint, one line per series (runs, latest value, change points), then each
    change point indented under its series."""
    lines = [
        f"# exabench history: {doc['runs']} runs, {len(doc['series'])} series (E-divisive, p <="
        f" {doc['p_value']:g}, {doc['permutations']} permutations, segments of >= {doc['min_size']}"
        " runs)"
    ]
    rows = [
        (
            bench_label(s),
            s["metric"],
            f"{len(s['points'])} runs",
            "latest " + fmt_value(s["points"][-1]["value"], s["metric"]),
            (
                f"{len(s['change_points'])} change point(s)"
                if s["change_points"]
                else "no change point"
            ),
        )
        for s in doc["series"]
    ]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(5)]
    fingerprint = object()
    for row, series in zip(rows, doc["series"], strict=True):
        if series["fingerprint"] != fingerprint:
            fingerprint = series["fingerprint"]
            points = series["points"]
            lines.append(
                f"# fingerprint {fingerprint}: {points[0]['created']} .. {points[-1]['created']}"
            )
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
        for cp in series["change_points"]:
            commit = f", commit {cp['commit'][:10]}" if cp.get("commit") else ""
            lines.append(
                f"      at run {cp['index']} ({cp['run_id']}{commit}):"
                f" {fmt_value(cp['before'], series['metric'])} ->"
                f" {fmt_value(cp['after'], series['metric'])} ({100 * cp['magnitude']:+.1f} %,"
                f" {cp['direction']}, p {cp['p_value']:.2g})"
            )
    return "\n".join(lines)
