"""Change points in a benchmark's history: E-divisive means with a permutation test.

Why E-divisive (Matteson & James 2014, arXiv 1306.4933) rather than asv's penalised
piecewise-constant (Potts) fit: it makes no assumption on the noise distribution (benchmark
times are skewed and heavy-tailed), it gives every change point a p-value that a CI gate can
threshold, and it is what MongoDB's CI and Apache Otava (ex-Hunter, ``--orig-edivisive``)
run on their performance histories (Daly et al., ICPE 2020, doi 10.1145/3358960.3375791;
apache/otava@1ceb153 ``otava/analysis.py``).

The statistic, for a segment Z split at τ into X = Z[:τ] and Y = Z[τ:] (univariate, α = 1,
V-statistic normalisation as in ``mongodb/signal-processing-algorithms`` ``_calculate_stats``)::

    Ê(τ) = 2/(|X||Y|)·Σ|x−y| − 1/|X|²·Σ_{x,x'}|x−x'| − 1/|Y|²·Σ_{y,y'}|y−y'|
    Q̂(τ) = |X||Y|/(|X|+|Y|) · Ê(τ)

All prefix and suffix sums come from one distance matrix in O(m²) per segment, vectorised over
a batch of permutations. The procedure (MongoDB ``e_divisive``): the candidate is the largest
Q̂ over all current segments; its significance is a permutation test that shuffles the points
within each segment and takes the largest Q̂ again, p = (1 + #{permuted ≥ observed}) / (1 + P);
accept when p ≤ ``p_value``, split, repeat. Permutations run in batches and stop early once the
test can no longer pass (Besag & Clifford 1991, sequential Monte Carlo p-values), so a quiet
series costs a few batches. Segments shorter than ``min_size`` are not allowed, so one outlier
does not make two change points (Otava PR #150).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BATCH_ELEMENTS = 2_000_000  # distance-matrix elements per batch (16 MB of float64)
MATRIX_MAX = 128  # longer segments use the O(m log m) Fenwick sums instead of the m × m matrix


@dataclass(kw_only=True, frozen=True)
class ChangePoint:
    index: int
    """Position of the first point after the change."""
    before: float
    """Median of the segment that ends at the change."""
    after: float
    """Median of the segment that starts at it."""
    magnitude: float
    """after / before − 1."""
    p_value: float


def _to_earlier_matrix(batch: np.ndarray) -> np.ndarray:
    """``Σ_{i<j} |z_j − z_i|`` for every j, from the B × m × m distance tensor (small m)."""
    m = batch.shape[1]
    distances = np.abs(batch[:, :, None] - batch[:, None, :])
    return np.where(np.tril(np.ones((m, m), dtype=bool), -1), distances, 0.0).sum(axis=2)


def _to_earlier_fenwick(batch: np.ndarray) -> np.ndarray:
    """The same sums in O(m log m) per row: a Fenwick tree over value ranks, one per row,
    walked for all rows at once. With c and s the count and sum of earlier values below z_j,
    and P_j the sum of all earlier values: ``Σ = z_j·c − s + (P_j − s) − z_j·(j − c)``.
    Counts and sums share one complex array (count + i·sum) to halve the indexing."""
    b, m = batch.shape
    ranks = np.argsort(np.argsort(batch, axis=1, kind="stable"), axis=1)
    width = m + 2  # slot 0 stays empty (the query's end); slot m+1 is a sink for finished updates
    tree = np.zeros(b * width, dtype=complex)
    row_start = np.arange(b) * width
    out = np.empty((b, m))
    prefix = np.zeros(b)
    for j in range(m):
        z = batch[:, j]
        k = ranks[:, j].copy()
        acc = np.zeros(b, dtype=complex)
        while True:  # prefix query over ranks 1..rank(z_j)
            acc += tree[row_start + k]
            k &= k - 1  # drop the lowest set bit
            if not k.any():
                break
        below, below_sum = acc.real, acc.imag
        out[:, j] = z * below - below_sum + (prefix - below_sum) - z * (j - below)
        k = ranks[:, j] + 1
        value = 1.0 + 1j * z
        while True:  # insert z_j at its rank
            tree[row_start + k] += value
            k = np.minimum(k + (k & -k), m + 1)
            if (k == m + 1).all():
                break
        prefix += z
    return out


def _to_all(batch: np.ndarray) -> np.ndarray:
    """``Σ_k |z_j − z_k|`` over the whole row, from sorted prefix sums in O(m log m)."""
    m = batch.shape[1]
    order = np.argsort(batch, axis=1)
    ordered = np.take_along_axis(batch, order, axis=1)
    below = np.cumsum(ordered, axis=1) - ordered  # sum of the values sorted before each one
    total = ordered.sum(axis=1, keepdims=True)
    r = np.arange(m)[None, :]
    per_sorted = ordered * r - below + (total - below - ordered) - ordered * (m - r - 1)
    out = np.empty_like(batch)
    np.put_along_axis(out, order, per_sorted, axis=1)
    return out


def q_profile(batch: np.ndarray, min_size: int) -> np.ndarray:
    """Q̂(τ) for each row of ``batch`` (shape B × m) and τ = min_size .. m − min_size;
    returns B × (m − 2·min_size + 1), or B × 0 when the segment is too short to split."""
    b, m = batch.shape
    taus = np.arange(min_size, m - min_size + 1)
    if taus.size == 0:
        return np.zeros((b, 0))
    small = m <= MATRIX_MAX or b * m * m <= BATCH_ELEMENTS
    to_earlier = _to_earlier_matrix(batch) if small else _to_earlier_fenwick(batch)
    to_later = _to_all(batch) - to_earlier  # Σ_{k>j} |z_j − z_k|
    zeros = np.zeros((b, 1))
    within_prefix = np.concatenate([zeros, np.cumsum(to_earlier, axis=1)], axis=1)  # pairs in Z[:τ]
    within_suffix = np.concatenate([np.cumsum(to_later[:, ::-1], axis=1)[:, ::-1], zeros], axis=1)
    total = within_prefix[:, -1:]
    n1, n2 = taus.astype(float), (m - taus).astype(float)
    left, right = within_prefix[:, taus], within_suffix[:, taus]
    cross = total - left - right
    energy = 2 * cross / (n1 * n2) - 2 * left / n1**2 - 2 * right / n2**2
    return n1 * n2 / (n1 + n2) * energy


def _best_split(values: np.ndarray, min_size: int) -> tuple[int, float]:
    q = q_profile(values[None, :], min_size)[0]
    if q.size == 0:
        return -1, -np.inf
    i = int(np.argmax(q))
    return i + min_size, float(q[i])


def _permuted_max(segments: list[np.ndarray], count: int, min_size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Largest Q̂ over all segments for ``count`` within-segment shuffles."""
    best = np.full(count, -np.inf)
    for values in segments:
        if values.size < 2 * min_size:
            continue
        chunk = (
            max(1, BATCH_ELEMENTS // (values.size * values.size))
            if values.size <= MATRIX_MAX
            else count
        )
        for start in range(0, count, chunk):
            rows = min(chunk, count - start)
            shuffled = rng.permuted(np.broadcast_to(values, (rows, values.size)), axis=1)
            q = q_profile(shuffled, min_size)
            best[start:start + rows] = np.maximum(best[start:start + rows], q.max(axis=1))
    return best


def e_divisive(values: np.ndarray | list[float], *, p_value: float = 0.01, permutations: int = 199,
               min_size: int = 3, seed: int = 0, batch: int = 25) -> list[ChangePoint]:
    """Significant change points of ``values`` (in series order), sorted by index."""
    series = np.asarray(values, dtype=float)
    assert series.ndim == 1 and 0 < p_value < 1 and permutations >= 1 and min_size >= 1
    rng = np.random.default_rng(seed)
    bounds = [0, series.size]
    found: dict[int, float] = {}
    memo: dict[tuple[int, int], tuple[int, float]] = {}
    # A p-value above p_value is certain once this many permuted maxima reach the observed one.
    allowed = int(np.floor(p_value * (permutations + 1))) - 1
    while True:
        pairs = list(zip(bounds[:-1], bounds[1:], strict=True))
        for a, b in pairs:
            if (a, b) not in memo:
                tau, q = _best_split(series[a:b], min_size)
                memo[(a, b)] = (a + tau, q)
        index, observed = max((memo[p] for p in pairs), key=lambda c: c[1])
        if not np.isfinite(observed) or observed <= 0:
            break
        segments = [series[a:b] for a, b in pairs]
        exceed, done = 0, 0
        # A first small batch settles most quiet series; the Fenwick path (long segments) costs
        # a Python loop per point whatever the batch, so it then takes the rest in one go.
        long = max(b - a for a, b in pairs) > MATRIX_MAX
        while done < permutations and exceed <= allowed:
            count = min(permutations - done if long and done else batch, permutations - done)
            exceed += int((_permuted_max(segments, count, min_size, rng) >= observed).sum())
            done += count
        if exceed > allowed:
            break
        found[index] = (1 + exceed) / (1 + permutations)
        bounds = sorted([*bounds, index])
    return _describe(series, found)


def _describe(series: np.ndarray, found: dict[int, float]) -> list[ChangePoint]:
    """Before/after levels: medians of the neighbouring segments."""
    cuts = sorted(found)
    edges = [0, *cuts, series.size]
    points = []
    for k, index in enumerate(cuts):
        before = float(np.median(series[edges[k]:index]))
        after = float(np.median(series[index:edges[k + 2]]))
        points.append(ChangePoint(index=index, before=before, after=after,
                                  magnitude=after / before - 1 if before else float("inf"),
                                  p_value=found[index]))
    return points
