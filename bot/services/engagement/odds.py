"""The random part of a game, kept pure so it can be tested by simulation: a number in [0, 1 000 000) falls into
one prize's band (bands laid end to end in the prize table's order, each as wide as its chance in parts per
million), or past them all: no prize. The server draws the number with the operating system's CSPRNG."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MILLION = 1_000_000


class RandomSource(Protocol):
    def randrange(self, stop: int) -> int: ...


_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True)
class Band:
    """One prize's place in the table: its id and chance (ppm)."""

    prize_id: int
    chance_ppm: int


def draw_number(source: RandomSource | None = None) -> int:
    """A uniformly random number in [0, 1 000 000), from the OS CSPRNG unless told otherwise (simulations)."""
    return (source or _SYSTEM_RANDOM).randrange(MILLION)


def prize_for(bands: Sequence[Band], number: int) -> int | None:
    """The prize whose band holds `number`, or None (no prize) past the last band."""
    edge = 0
    for band in bands:
        edge += band.chance_ppm
        if number < edge:
            return band.prize_id
    return None


def candidates(bands: Sequence[Band], rolled: int | None, when_unavailable: str) -> list[int]:
    """The prizes to try, in order, when `rolled` was drawn: itself, then (with "next") each prize after it in the
    table; a prize out of stock or over budget is skipped. Empty for no prize."""
    if rolled is None:
        return []
    ids = [band.prize_id for band in bands]
    start = ids.index(rolled)
    return ids[start:] if when_unavailable == "next" else [rolled]
