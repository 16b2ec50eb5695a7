"""The one interval merge, used for working hours, busy time and stored busy copies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

N = TypeVar("N", int, float)


def merge(intervals: Iterable[tuple[N, N]]) -> list[tuple[N, N]]:
    """The sorted union of half-open `[start, end)` intervals.

    Empty and backwards intervals are dropped; overlapping or touching ones are joined, since
    time that ends where other time begins leaves no gap a slot could use.
    """
    merged: list[tuple[N, N]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
