"""Currency triangles among the TrueFX pairs, for the cross_rate detector (pure Python, no Spark).

A triangle of three pairs over three currencies gives one consistency relation: the quoted cross Q = A/B must
equal the product of its two legs A/C x C/B (a leg may be quoted the other way round, e.g. C/A, and then enters
as 1/mid). Each set of three pairs yields one triangle; the quoted cross is the pair WITHOUT the currency that
ranks first in VEHICLE_ORDER (USD first: "EUR/JPY vs EUR/USD x USD/JPY").
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable

from fxtrue.settings import TRUEFX_PAIRS

# Vehicle currencies, most liquid first: the one a triangle goes "through".
VEHICLE_ORDER = ("USD", "EUR", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD")


@dataclass(frozen=True)
class Triangle:
    """quoted ~ leg1^exp1 * leg2^exp2 (exponents +1 or -1)."""

    quoted: str
    leg1: str
    exp1: int
    leg2: str
    exp2: int

    @property
    def subject(self) -> str:
        """'EUR/USD*USD/JPY~EUR/JPY'; an inverted leg is written with a leading '1/'."""
        def term(leg: str, exp: int) -> str:
            return leg if exp == 1 else f"1/{leg}"
        return f"{term(self.leg1, self.exp1)}*{term(self.leg2, self.exp2)}~{self.quoted}"

    @property
    def pairs(self) -> tuple[str, str, str]:
        return (self.quoted, self.leg1, self.leg2)

    def implied(self, mids: dict[str, float]) -> float:
        return mids[self.leg1] ** self.exp1 * mids[self.leg2] ** self.exp2


def _currencies(pair: str) -> tuple[str, str]:
    base, quote = pair.split("/")
    return base, quote


def _rank(ccy: str) -> int:
    return VEHICLE_ORDER.index(ccy) if ccy in VEHICLE_ORDER else len(VEHICLE_ORDER)


def _leg(pairs: set[str], frm: str, to: str) -> tuple[str, int]:
    """The pair converting frm -> to (frm/to, exponent +1) or its inverse (to/frm, exponent -1)."""
    if f"{frm}/{to}" in pairs:
        return f"{frm}/{to}", 1
    return f"{to}/{frm}", -1


def triangles(pairs: Iterable[str] = TRUEFX_PAIRS) -> list[Triangle]:
    """Every triangle the given pairs close, one per set of three pairs, in a stable order."""
    pair_set = set(pairs)
    out: list[Triangle] = []
    for trio in combinations(sorted(pair_set), 3):
        ccys = set()
        for p in trio:
            ccys.update(_currencies(p))
        if len(ccys) != 3:
            continue
        vehicle = min(ccys, key=lambda c: (_rank(c), c))
        quoted = next(p for p in trio if vehicle not in _currencies(p))
        a, b = _currencies(quoted)
        leg1, e1 = _leg(pair_set, a, vehicle)
        leg2, e2 = _leg(pair_set, vehicle, b)
        out.append(Triangle(quoted, leg1, e1, leg2, e2))
    return sorted(out, key=lambda t: t.subject)


def subjects_of_pair(pair: str, pairs: Iterable[str] = TRUEFX_PAIRS) -> list[str]:
    """The triangle subjects a pair takes part in (as quoted cross or as a leg)."""
    return [t.subject for t in triangles(pairs) if pair in t.pairs]
