"""IPCA index numbers and the NTN-B VNA, from the simulated monthly IPCA."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from apps.demo.market.paths import MarketPaths
from apps.demo.market.rows import DemoFixing
from apps.marketdata import pricing

# Levels near the real ones at the end of 2018 (the first simulated month).
_IPCA_INDEX_START = Decimal("4990.00")
_VNA_NTNB_START = Decimal("3130.000000")
# IBGE publishes a month's IPCA around the 10th of the following month.
_PUBLICATION_DAY = 10

Month = tuple[int, int]


def _next_month(month: Month) -> Month:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _previous_month(month: Month) -> Month:
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


class Inflation:
    def __init__(self, paths: MarketPaths) -> None:
        self.monthly = {month: Decimal(f"{value:.4f}") for month, value in paths.ipca.items()}
        months = sorted(self.monthly)
        # Index number at the end of each reference month (A-2, as IBGE publishes it).
        self.index: dict[Month, Decimal] = {}
        # VNA on the 15th: the previous 15th's VNA updated by the last published month.
        self.vna_15: dict[Month, Decimal] = {months[0]: _VNA_NTNB_START}
        level = _IPCA_INDEX_START
        for month in months:
            ipca = self.monthly[month]
            level = (level * (1 + ipca)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            self.index[month] = level
            self.vna_15[_next_month(month)] = pricing.ntnb_vna(self.vna_15[month], ipca, 1, 1)
        self._vna_cache: dict[date, Decimal] = {}

    def vna(self, day: date) -> Decimal:
        """VNA of the NTN-B on `day`, pro rata (calendar days) between two 15ths (STN).

        The month's IPCA projection is taken to be the realised figure (a perfect forecast),
        so the VNA is continuous across the 15th.
        """
        if day not in self._vna_cache:
            anchor: Month = (day.year, day.month)
            if day.day < 15:
                anchor = _previous_month(anchor)
            last = date(anchor[0], anchor[1], 15)
            following = _next_month(anchor)
            period = (date(following[0], following[1], 15) - last).days
            self._vna_cache[day] = pricing.ntnb_vna(
                self.vna_15[anchor], self.monthly[anchor], (day - last).days, period
            )
        return self._vna_cache[day]

    def monthly_fixings(self, start: date, end: date) -> list[DemoFixing]:
        """IPCA_MONTHLY and IPCA_INDEX on each reference month's 1st, once published by `end`.

        The fixing is dated the reference month's 1st (FixingIndex's convention) but is only
        known from its publication, around the 10th of the following month.
        """
        rows = []
        # The DAP pro rata on the window's first day starts from the index of the month before
        # its period's 15th: up to two months before the window's month.
        earliest = _previous_month(_previous_month((start.year, start.month)))
        for (year, month), ipca in sorted(self.monthly.items()):
            first = date(year, month, 1)
            following = _next_month((year, month))
            published = date(following[0], following[1], _PUBLICATION_DAY)
            # A month belongs to the window if its reference month or its publication does,
            # or if the window's first pro-rata period needs its index.
            if published > end or (year, month) < earliest:
                continue
            rows.append(DemoFixing("IPCA_MONTHLY", first, ipca))
            rows.append(DemoFixing("IPCA_INDEX", first, self.index[(year, month)]))
        return rows
