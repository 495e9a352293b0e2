"""Trading benchmark: the pre-trade check of one ticket, what-if included, on a 500-position
book (the positions benchmark's book: DI1, WDO/IND, LTN and equities over 10 strategies).

The setup adds what the what-if reads in production: a year of settlement prices of every
instrument held (the VaR history), the PTAX, the stress library and ~40 limits. The timed
operation is `trading.services.dry_run`: the fat-finger rules, the what-if (risk before and
after), the limits and the fund's compliance rules (the defaults, before and after), exactly
what a booking runs before it writes. Before each repeat the
fund's data version is bumped, as a booked trade bumps it: the check reads the book afresh
and finds in the cache only what a trade does not change (the factor history and each
position's revaluation, under the market's version). The first check after the market moves
(the EOD) revalues every position: it is timed once in the setup and printed as "cold".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scripts.bench import BenchOp, Scale, report, reported
from scripts.bench.positions import (
    BOOK_DAY,
    BOOK_POSITIONS,
    CDI,
    _instruments,
    _mark,
    _navs,
    _portfolio,
    _positions,
    _quote,
)

SEED = 16
PTAX = Decimal("5.4571")
TARGET_MS = 150


@dataclass(frozen=True)
class CheckState:
    ticket: Any
    user: Any
    label: str


def _history(instruments: list[Any], rng: random.Random) -> None:
    """A year of settlements of every instrument (the VaR window) and the PTAX and CDI."""
    from apps.marketdata.models import Fixing, SettlementPrice
    from apps.risk.factors import history_window

    days = history_window(BOOK_DAY)
    SettlementPrice.objects.bulk_create(
        [
            SettlementPrice(instrument=i, date=d, source="B3", price=price, rate=rate)
            for d in days
            for i in instruments
            if not i.maturity or i.maturity > d
            for price, rate in [_quote(i, d, rng)]
        ],
        batch_size=5000,
        ignore_conflicts=True,
    )
    Fixing.objects.bulk_create(
        [Fixing(index="PTAX_SELL", date=d, value=PTAX, source="BENCH") for d in days]
        + [Fixing(index="CDI", date=d, value=CDI, source="BENCH") for d in days],
        ignore_conflicts=True,
    )


def _limits(portfolio: Any, strategies: list[Any]) -> None:
    from apps.compliance.services import ensure_default_rules
    from apps.risk.models import Limit, Metric, Scope
    from apps.risk.services import ensure_default_limits

    ensure_default_limits(portfolio)
    ensure_default_rules(portfolio)  # the compliance rules the check evaluates too
    _issuers(portfolio)
    Limit.objects.bulk_create(
        [
            Limit(
                portfolio=portfolio,
                metric=metric,
                scope=Scope.STRATEGY,
                scope_value=s.code,
                warning_level=warning,
                hard_level=hard,
            )
            for s in strategies
            for metric, warning, hard in (
                (Metric.GROSS, Decimal("2"), Decimal("3")),
                (Metric.NET, Decimal("1"), Decimal("2")),
                (Metric.VAR_99, Decimal("0.01"), Decimal("0.02")),
            )
        ],
        ignore_conflicts=True,
    )


def _issuers(portfolio: Any) -> None:
    """Issuers for the bench's bonds (the União) and equities (one listed company per ten
    tickers), and a B3 margin for the book day: the compliance rules have data to read."""
    from apps.compliance.models import MarginRecord
    from apps.marketdata.models import Instrument, Issuer, IssuerKind

    uniao, _ = Issuer.objects.get_or_create(
        name="Tesouro Nacional (bench)", defaults={"kind": IssuerKind.UNIAO}
    )
    Instrument.objects.filter(ticker__startswith="BKT", kind="LTN").update(issuer=uniao)
    equities = Instrument.objects.filter(ticker__startswith="BKT", kind="EQUITY").order_by("pk")
    for i, instrument in enumerate(equities):
        issuer, _ = Issuer.objects.get_or_create(
            name=f"Bench listed company {i // 10}", defaults={"kind": IssuerKind.LISTED}
        )
        instrument.issuer = issuer
        instrument.save(update_fields=["issuer"])
    MarginRecord.objects.get_or_create(
        portfolio=portfolio,
        date=BOOK_DAY,
        defaults={"amount_brl": Decimal("12000000"), "estimate": True, "source": "bench"},
    )


def _setup(scale: Scale) -> CheckState:
    from apps.marketdata.models import Instrument
    from apps.positions.services import TradeTicket
    from scripts.bench.positions import _user
    from scripts.bench.risk import _stress_library

    count = scale.size(BOOK_POSITIONS)
    portfolio, strategies, created = _portfolio(f"bench-pretrade-{scale.name}", BOOK_DAY, 10)
    if created:
        rng = random.Random(SEED)
        _stress_library()
        instruments = _instruments("BKT", max(1, count // len(strategies)), BOOK_DAY)
        positions = _positions(portfolio, strategies, instruments, count, BOOK_DAY, rng)
        _history(instruments, rng)
        from apps.marketdata.queries import effective_prices

        prices = effective_prices(BOOK_DAY, [i.pk for i in instruments])
        marks = [
            _mark(pos, i, q, BOOK_DAY, prices[i.pk].price, prices[i.pk].rate, None, rng)
            for pos, i, q, _ in positions
        ]
        from apps.positions.models import DailyMark

        DailyMark.objects.bulk_create(marks, batch_size=5000)
        _navs(portfolio, [BOOK_DAY], {BOOK_DAY: marks})
        _limits(portfolio, strategies)
    if not reported("cold"):
        _cold_check(portfolio, strategies[0])
    from apps.core.cache import bump

    bump(portfolio.pk, refresh=False)  # as a booked trade does
    di1 = (
        # Priced on the day: in a full run other benches leave unpriced DI1 contracts behind.
        Instrument.objects.filter(
            ticker__startswith="DI1", maturity__gt=BOOK_DAY, prices__date=BOOK_DAY
        )
        .order_by("maturity")
        .first()
    )
    assert di1 is not None
    from apps.marketdata.queries import effective_prices

    settlement = effective_prices(BOOK_DAY, [di1.pk])[di1.pk]
    ticket = TradeTicket(
        portfolio=portfolio,
        strategy=strategies[0],
        instrument=di1,
        side="BUY",
        quantity=Decimal("50"),
        trade_date=BOOK_DAY,
        price=settlement.price,
    )
    return CheckState(ticket, _user(), f"{count} positions, 50 {di1.ticker}")


def _cold_check(portfolio: Any, strategy: Any) -> None:
    """One check with nothing cached (as after the EOD), timed here and printed."""
    import time

    from apps.core.cache import bump
    from apps.marketdata.models import Instrument
    from apps.positions.services import TradeTicket
    from apps.trading.services import dry_run
    from scripts.bench.positions import _user

    bump(None, refresh=False)  # a new market version: nothing of the what-if is cached
    instrument = Instrument.objects.filter(ticker__startswith="BKT").order_by("pk").first()
    assert instrument is not None
    ticket = TradeTicket(
        portfolio=portfolio,
        strategy=strategy,
        instrument=instrument,
        side="BUY",
        quantity=Decimal("100"),
        trade_date=BOOK_DAY,
        price=Decimal("10"),
    )
    started = time.perf_counter()
    dry_run(ticket, by=_user())
    report("cold", f"[cold {(time.perf_counter() - started) * 1000:,.0f} ms]")


def _run(state: CheckState) -> None:
    from apps.trading.services import dry_run

    verdict = dry_run(state.ticket, by=state.user)
    assert verdict.what_if is not None, [r.message for r in verdict.results]
    what_if = verdict.what_if
    report(
        state.label,
        f"[{state.label}: {verdict.status}, {len(verdict.results)} rules, "
        f"{len(what_if['after']['limits'])} limits, VaR {what_if['before']['var99']:,.0f} → "
        f"{what_if['after']['var99']:,.0f}]",
    )


OPERATIONS = [
    BenchOp(
        f"pre-trade check of one ticket, what-if included, {BOOK_POSITIONS} positions",
        target_ms=TARGET_MS,
        setup=_setup,
        run=_run,
        repeats=5,
    ),
]
