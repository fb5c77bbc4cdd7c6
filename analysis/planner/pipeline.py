"""Pipeline parallelism: how layers split over stages, the bubble, and micro-batches in flight.

- Bubble of 1F1B (and GPipe): ``(p - 1) / m`` of the ideal time; interleaved 1F1B with ``v``
  chunks per stage: ``(p - 1) / (v m)`` (Narayanan et al. SC'21 section 2.2; Llama 3 quotes
  the same).
- In flight on the first stage: 1F1B keeps ``min(p, m)`` micro-batches of activations; the
  interleaved schedule ``p (1 + (p - 1)/(p v))`` (Korthikanti et al. 2022, section 4.2.3).
- Uneven stages: when ``p`` doesn't divide the layers, the first and last stages carry fewer
  layers (they also carry the embedding and the loss), as Megatron and Llama 3 (126 layers
  on 16 stages: 7 + 14 x 8 + 7) do.
"""

from __future__ import annotations


def stage_layers(layers: int, pp: int) -> list[int]:
    """Layers on each of ``pp`` stages; any shortfall is taken from the ends first."""
    assert 1 <= pp <= layers, (layers, pp)
    base = -(-layers // pp)
    counts = [base] * pp
    short = base * pp - layers
    ends = [0, pp - 1] if pp > 1 else [0]
    i = 0
    while short:
        # Take from the first and last stage alternately, then walk inwards.
        order = ends + [s for s in range(1, pp - 1)]
        stage = order[i % len(order)]
        if counts[stage] > 1:
            counts[stage] -= 1
            short -= 1
        i += 1
    return counts


def bubble_fraction(pp: int, vp: int, microbatches: int) -> float:
    """Idle time over ideal compute time: (p - 1) / (v m)."""
    return (pp - 1) / (vp * microbatches)


def inflight_microbatches(pp: int, vp: int, microbatches: int) -> float:
    """Micro-batches whose activations the first stage holds at the peak of the schedule."""
    if pp == 1:
        return 1.0
    held = float(min(pp, microbatches))
    return held * (1 + (pp - 1) / (pp * vp)) if vp > 1 else held
