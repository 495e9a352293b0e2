"""Risk services: build the engine's inputs from the book, snapshot, limits → alerts, what-if."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.core.cache import cache_get_many, cache_set, versions
from apps.core.roles import Role, has_role
from apps.core.staleness import basis_now
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import business_days, previous_business_day
from apps.marketdata.models import FixingIndex, Instrument, InstrumentKind
from apps.marketdata.queries import effective_prices, fixing_on, ipca_pro_rata_on
from apps.marketdata.valuation import (
    NTNB_COUPON_RATE,
    NTNF_COUPON,
    RateTerms,
    coupon_dates,
    dv01_at,
)
from apps.positions.models import DailyMark, NavRecord, Portfolio, Position, Side
from apps.risk.engine import Revaluations, RiskPosition, RiskReport, analyse, fx_delta
from apps.risk.factors import FactorHistory, factor_of
from apps.risk.history import shared_history
from apps.risk.models import (
    Alert,
    IntradayRisk,
    Limit,
    Metric,
    RiskSnapshot,
    Scope,
    StressScenario,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

D = Decimal

# The what-if's history and revaluations live until the market moves (a new version) or this
# long: a safety net, as the read models' TTLs are.
WHAT_IF_TTL = 3600

DEFAULT_LIMITS: list[tuple[str, Decimal, Decimal]] = [
    (Metric.VAR_99, D("0.025"), D("0.035")),
    (Metric.ES_975, D("0.030"), D("0.045")),
    (Metric.GROSS, D("4.0"), D("5.0")),
    (Metric.NET, D("2.0"), D("3.0")),
    (Metric.WORST_STRESS, D("0.08"), D("0.12")),
    (Metric.CONCENTRATION, D("0.75"), D("1.00")),
]


@transaction.atomic
def ensure_default_limits(portfolio: Portfolio, *, by: User | None = None) -> int:
    """Portfolio-level limits a new fund starts with (edited in the admin afterwards); each
    one added is journaled as a limit change."""
    created = 0
    for metric, warning, hard in DEFAULT_LIMITS:
        limit, made = Limit.objects.get_or_create(
            portfolio=portfolio,
            metric=metric,
            scope=Scope.PORTFOLIO,
            scope_value="",
            defaults={"warning_level": warning, "hard_level": hard},
        )
        if made:
            journal_setting_change(limit, old=None, by=by, reason="Default limits of a new fund.")
        created += made
    return created


LIMIT_FIELDS = ("metric", "scope", "scope_value", "warning_level", "hard_level", "active")


def setting_values(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """A limit's (or a pre-trade rule's) values as the journal keeps them."""
    return {name: getattr(row, name) for name in fields}


def journal_setting_change(
    row: Any,
    *,
    old: dict[str, Any] | None,
    by: User | None,
    reason: str,
    fields: tuple[str, ...] = LIMIT_FIELDS,
) -> None:
    """Journal a limit or pre-trade rule created or changed: old → new, who, why."""
    row.refresh_from_db(fields=fields)  # the values as stored (decimals to their places)
    new = setting_values(row, fields)
    changed = [k for k in fields if old is None or old.get(k) != new[k]]
    journal(
        kind=EntryKind.RULE_CHANGED,
        actor=by,
        portfolio=row.portfolio,
        snapshot={
            "model": row._meta.label,
            "id": row.pk,
            "label": str(row),
            "old": old,
            "new": new,
            "changed": changed,
        },
        note=reason.strip(),
    )


@transaction.atomic
def save_setting(
    row: Any,
    *,
    by: User,
    reason: str,
    old: dict[str, Any] | None,
    fields: tuple[str, ...],
    settings: str,
    noun: str,
    clean: bool = True,
) -> Any:
    """Create or change a fund's setting (a limit, a pre-trade or a compliance rule): back
    office only, the reason mandatory, journaled old → new. `settings` and `noun` name them in
    the messages ("limits", "limit")."""
    if not has_role(by, Role.BACK_OFFICE):
        raise PermissionDenied(f"Only back office may change {settings}.")
    if not reason.strip():
        raise ValidationError({"reason": f"Say why: a {noun} change needs a reason."})
    if clean:
        row.full_clean()
    row.save()
    journal_setting_change(row, old=old, by=by, reason=reason, fields=fields)
    return row


def save_limit(limit: Limit, *, by: User, reason: str, old: dict[str, Any] | None) -> Limit:
    """Create or change a limit (back office); the reason is mandatory and journaled."""
    saved: Limit = save_setting(
        limit,
        by=by,
        reason=reason,
        old=old,
        fields=LIMIT_FIELDS,
        settings="limits",
        noun="limit",
        clean=False,
    )
    return saved


def _bond_flows(
    kind: str, maturity: date, day: date, vna: Decimal | None
) -> list[tuple[float, float]]:
    """(du, cash per unit) of a bond's remaining flows, for float revaluation."""
    if kind == InstrumentKind.LTN:
        return [(float(business_days(day, maturity)), 1000.0)]
    flows = []
    for flow_date in coupon_dates(kind, maturity, day, maturity):
        du = float(business_days(day, flow_date))
        if kind == InstrumentKind.NTNF:
            cash = float(NTNF_COUPON) + (1000.0 if flow_date == maturity else 0.0)
        else:
            per_vna = float(NTNB_COUPON_RATE) + (1.0 if flow_date == maturity else 0.0)
            cash = per_vna * float(vna or 0)
        flows.append((du, cash))
    return flows


def _risk_position(
    *,
    key: str,
    strategy: str,
    instrument: Instrument,
    quantity: Decimal,
    price: Decimal,
    rate: Decimal | None,
    unit_value: Decimal,
    dv01: Decimal,
    day: date,
    vna: Decimal | None,
) -> RiskPosition:
    maturity = instrument.maturity
    flows = []
    if maturity and instrument.kind in (
        InstrumentKind.LTN,
        InstrumentKind.NTNF,
        InstrumentKind.NTNB,
    ):
        flows = _bond_flows(instrument.kind, maturity, day, vna)
    return RiskPosition(
        key=key,
        strategy=strategy,
        asset_class=instrument.asset_class,
        ticker=instrument.ticker,
        kind=instrument.kind,
        currency=instrument.currency,
        quantity=quantity,
        price=price,
        rate=rate,
        maturity=maturity,
        du=business_days(day, maturity) if maturity and maturity > day else 0,
        dc=(maturity - day).days if maturity and maturity > day else 0,
        unit_value=unit_value,
        exposure=(price * quantity * unit_value).quantize(D("0.01")),
        dv01=dv01,
        factor=factor_of(instrument.kind, instrument.ticker, instrument.currency),
        vna=vna,
        flows=flows,
    )


RISK_INSTRUMENT_FIELDS = ("ticker", "kind", "asset_class", "currency", "maturity")


def book_positions(portfolio: Portfolio, day: date) -> tuple[list[RiskPosition], list[str]]:
    """The open positions as marked on `day`, and warnings for open ones without a mark."""
    marks = (
        DailyMark.objects.filter(portfolio=portfolio, date=day)
        .exclude(quantity=0)
        .select_related("position__instrument", "position__strategy")
        # Only what the engine reads: a what-if builds this on every pre-trade check.
        .only(
            "position_id",
            "quantity",
            "price",
            "rate",
            "notional_brl",
            "dv01_brl",
            "position__strategy__code",
            *(f"position__instrument__{name}" for name in RISK_INSTRUMENT_FIELDS),
        )
    )
    positions = risk_positions(list(marks), day)
    marked = {int(p.key) for p in positions}
    held = (
        Position.objects.filter(portfolio=portfolio, opened_date__lte=day)
        .exclude(quantity=0)
        .values_list("pk", "instrument__ticker")
    )
    warnings = [
        f"{ticker} has no mark on {day:%Y-%m-%d}: excluded from risk."
        for pk, ticker in held
        if pk not in marked
    ]
    return positions, warnings


def risk_positions(
    marks: list[DailyMark], day: date, *, vna: Decimal | None = None
) -> list[RiskPosition]:
    """The engine's positions from marks of `day` (stored, or an intraday estimate's, which
    passes the latest NTN-B VNA: today's may not be published yet)."""
    vna = vna if vna is not None else fixing_on(FixingIndex.VNA_NTNB, day)
    positions = []
    for mark in marks:
        instrument = mark.position.instrument
        unit = abs(mark.notional_brl / (mark.price * mark.quantity)) if mark.price else D(0)
        positions.append(
            _risk_position(
                key=str(mark.position_id),
                strategy=mark.position.strategy.code,
                instrument=instrument,
                quantity=mark.quantity,
                price=mark.price,
                rate=mark.rate,
                unit_value=unit,
                dv01=mark.dv01_brl,
                day=day,
                vna=vna if instrument.kind == InstrumentKind.NTNB else None,
            )
        )
    return positions


def latest_risk_date(portfolio: Portfolio) -> date | None:
    return NavRecord.objects.filter(portfolio=portfolio).aggregate(d=Max("date"))["d"]


@dataclass
class BookInputs:
    """What a risk report of one fund and day is computed from, read once: a what-if values
    the book before and after on the same inputs (and the same per-position revaluations)."""

    portfolio: Portfolio
    day: date
    nav: Decimal
    positions: list[RiskPosition]
    warnings: list[str]
    history: FactorHistory
    ptax: Decimal | None
    scenarios: list[StressScenario]
    memo: Revaluations = field(default_factory=Revaluations)

    def report(self, extra: list[RiskPosition] | None = None) -> RiskReport:
        return analyse(
            _net(self.positions, extra or []),
            self.history,
            nav=self.nav,
            asof=self.day,
            ptax=self.ptax,
            scenarios=self.scenarios,
            warnings=self.warnings,
            memo=self.memo,
        )


def book_inputs(portfolio: Portfolio, day: date) -> BookInputs:
    nav_row = NavRecord.objects.filter(portfolio=portfolio, date=day).first()
    if nav_row is None:
        raise ValidationError(f"{portfolio} has no NAV on {day:%Y-%m-%d}: run the MTM first.")
    positions, warnings = book_positions(portfolio, day)
    return BookInputs(
        portfolio=portfolio,
        day=day,
        nav=nav_row.nav_close,
        positions=positions,
        warnings=warnings,
        history=shared_history(day),
        ptax=fixing_on(FixingIndex.PTAX_SELL, day),
        scenarios=list(StressScenario.objects.filter(active=True)),
    )


def compute_report(
    portfolio: Portfolio, day: date, extra: list[RiskPosition] | None = None
) -> RiskReport:
    """The full risk report of the book marked on `day` (plus hypothetical positions)."""
    return book_inputs(portfolio, day).report(extra)


def _net(positions: list[RiskPosition], extra: list[RiskPosition]) -> list[RiskPosition]:
    """Add hypothetical trades to the book, netting one against a position it trades (same
    instrument and strategy), so a reducing trade reduces exposure."""
    out = list(positions)
    for trade in extra:
        match = next(
            (
                i
                for i, p in enumerate(out)
                if p.ticker == trade.ticker and p.strategy == trade.strategy
            ),
            None,
        )
        if match is None:
            out.append(trade)
            continue
        held = out[match]
        out[match] = replace(
            held,
            quantity=held.quantity + trade.quantity,
            exposure=held.exposure + trade.exposure,
            dv01=held.dv01 + trade.dv01,
        )
    return [p for p in out if p.quantity != 0]


def metric_values(report: RiskReport) -> dict[tuple[str, str, str], Decimal]:
    """Every limit-able value of a report, keyed (metric, scope, scope_value)."""
    nav = report.nav or 1.0
    worst = report.worst_stress
    values: dict[tuple[str, str, str], float] = {
        (Metric.VAR_99, Scope.PORTFOLIO, ""): report.var99 / nav,
        (Metric.VAR_95, Scope.PORTFOLIO, ""): report.var95 / nav,
        (Metric.ES_975, Scope.PORTFOLIO, ""): report.es975 / nav,
        (Metric.GROSS, Scope.PORTFOLIO, ""): report.gross_pct,
        (Metric.NET, Scope.PORTFOLIO, ""): abs(report.net_pct),
        (Metric.DV01, Scope.PORTFOLIO, ""): abs(report.dv01_total),
        (Metric.FX_DELTA, Scope.PORTFOLIO, ""): abs(report.fx_delta_usd),
        (Metric.WORST_STRESS, Scope.PORTFOLIO, ""): max(0.0, -worst.pnl / nav) if worst else 0.0,
        (Metric.CONCENTRATION, Scope.PORTFOLIO, ""): (
            abs(report.concentration[0]["pct_nav"]) if report.concentration else 0.0
        ),
    }
    for key, exposure in report.exposures.items():
        kind, _, name = key.partition(":")
        scope = {"strategy": Scope.STRATEGY, "asset": Scope.ASSET_CLASS}.get(kind)
        if scope:
            values[(Metric.GROSS, scope, name)] = exposure["gross_pct"]
            values[(Metric.NET, scope, name)] = abs(exposure["net_pct"])
    for name, component in report.component_var99.items():
        # A negative component is a hedge: it uses none of its strategy's limit.
        values[(Metric.VAR_99, Scope.STRATEGY, name)] = max(0.0, component / nav)
    return {k: D(str(round(v, 6))) for k, v in values.items()}


def check_limits(portfolio: Portfolio, report: RiskReport) -> list[dict[str, Any]]:
    """Each active limit with its value, utilisation and level (ok / warning / hard)."""
    values = metric_values(report)
    checks = []
    for limit in Limit.objects.filter(portfolio=portfolio, active=True):
        value = values.get((limit.metric, limit.scope, limit.scope_value))
        if value is None:
            continue
        level = (
            "hard"
            if value >= limit.hard_level
            else "warning"
            if value >= limit.warning_level
            else "ok"
        )
        checks.append(
            {
                "limit_id": limit.pk,
                "label": str(limit),
                "metric": limit.metric,
                "value": float(value),
                "warning": float(limit.warning_level),
                "hard": float(limit.hard_level),
                "utilisation": float(limit.utilisation(value)),
                "level": level,
            }
        )
    return checks


@transaction.atomic
def run_risk(portfolio: Portfolio, day: date, *, by: User | None = None) -> RiskSnapshot:
    """Snapshot the day's risk and raise an alert for every limit level crossed; the day's
    intraday estimate, if any, is superseded (deleted)."""
    basis = basis_now(portfolio.pk)  # before the inputs: a write after shows as newer
    report = compute_report(portfolio, day)
    checks = check_limits(portfolio, report)
    payload = {**report.as_dict(), "limits": checks}
    snapshot, _ = RiskSnapshot.objects.update_or_create(
        portfolio=portfolio, date=day, defaults={"report": payload, "basis": basis.as_dict()}
    )
    IntradayRisk.objects.filter(portfolio=portfolio, date__lte=day).delete()
    for check in checks:
        if check["level"] == "ok":
            continue
        level = Alert.Level.HARD if check["level"] == "hard" else Alert.Level.WARNING
        if Alert.objects.open().filter(limit_id=check["limit_id"], level=level).exists():
            continue  # still breached: the open alert stands until someone acknowledges it
        alert, created = Alert.objects.get_or_create(
            limit_id=check["limit_id"],
            date=day,
            level=level,
            defaults={
                "portfolio": portfolio,
                "value": D(str(check["value"])),
                "utilisation": D(str(round(check["utilisation"], 4))),
            },
        )
        if created:
            journal(
                kind=EntryKind.LIMIT_ALERT,
                actor=by,
                portfolio=portfolio,
                on_date=day,
                snapshot={k: check[k] for k in ("label", "value", "warning", "hard", "level")},
                note=f"{alert.get_level_display()}: {check['label']}",
            )
    return snapshot


@transaction.atomic
def acknowledge_alert(alert: Alert, *, by: User, note: str) -> Alert:
    """Someone takes responsibility for an alert, saying what is being done."""
    if not has_role(by, Role.MANAGER, Role.APPROVER, Role.OPS):
        raise PermissionDenied("Only a manager, an approver or ops may acknowledge an alert.")
    if not note.strip():
        raise ValidationError({"note": "Say what is being done: acknowledging needs a note."})
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.status != Alert.Status.OPEN:
        raise ValidationError(f"Alert #{locked.pk} was already acknowledged.")
    locked.status = Alert.Status.ACKNOWLEDGED
    locked.acknowledged_by, locked.acknowledged_at = by, timezone.now()
    locked.note = note.strip()
    locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    journal(
        kind=EntryKind.ALERT_ACKNOWLEDGED,
        actor=by,
        portfolio=locked.portfolio,
        on_date=locked.date,
        snapshot={"alert": locked.pk, "limit": str(locked.limit), "level": locked.level},
        note=locked.note,
    )
    return locked


def hypothetical_position(proposal: Any, day: date, key: str = "") -> RiskPosition:
    """A proposal or a ticket as if filled at `day`'s settlement: what the what-if adds to the
    book (any object with portfolio, strategy, instrument, side and quantity)."""
    instrument = proposal.instrument
    price_row = effective_prices(day, [instrument.pk]).get(instrument.pk)
    if price_row is None:
        raise ValidationError(f"No settlement price for {instrument.ticker} on {day:%Y-%m-%d}.")
    signed = proposal.quantity if proposal.side == Side.BUY else -proposal.quantity
    multiplier = instrument.multiplier
    if instrument.currency == "USD":
        # A DDI/FRC ajuste (and DV01) converts at PTAX_{t−1}, a new position's as a carried
        # one's (B3); other USD instruments at the day's PTAX, as the MTM marks them.
        fx_coupon = instrument.kind in (InstrumentKind.DDI, InstrumentKind.FRC)
        ptax = fixing_on(FixingIndex.PTAX_SELL, previous_business_day(day) if fx_coupon else day)
        multiplier *= ptax or D(0)
    if instrument.kind == InstrumentKind.DAP:
        # B3: the DAP point is R$ 0.00025 times the day's IPCA pro-rata index, as the MTM marks it.
        multiplier *= ipca_pro_rata_on(day) or D(0)
    vna = fixing_on(FixingIndex.VNA_NTNB, day) if instrument.kind == InstrumentKind.NTNB else None
    dv01 = D(0)
    alive = instrument.maturity is not None and instrument.maturity > day
    priceable = instrument.kind != InstrumentKind.NTNB or vna is not None
    if price_row.rate is not None and instrument.maturity and alive and priceable:
        terms = RateTerms(instrument.kind, instrument.maturity, vna)
        per_unit = dv01_at(terms, price_row.rate, day)
        dv01 = (per_unit * signed * multiplier).quantize(D("0.01"))
    return _risk_position(
        key=key or f"proposal:{getattr(proposal, 'pk', None)}",
        strategy=proposal.strategy.code,
        instrument=instrument,
        quantity=signed,
        price=price_row.price,
        rate=price_row.rate,
        unit_value=multiplier,
        dv01=dv01,
        day=day,
        vna=vna,
    )


def _summary(report: RiskReport, checks: list[dict[str, Any]]) -> dict[str, Any]:
    worst = report.worst_stress
    return {
        "var99": round(report.var99, 2),
        "es975": round(report.es975, 2),
        "gross_pct": round(report.gross_pct, 4),
        "net_pct": round(report.net_pct, 4),
        "dv01_total": round(report.dv01_total, 2),
        "dv01_ladder": report.dv01_ladder,
        "fx_delta_usd": round(report.fx_delta_usd, 2),
        "exposures": {
            key: {k: round(v, 4) for k, v in values.items()}
            for key, values in sorted(report.exposures.items())
        },
        "worst_stress": {"name": worst.name, "pnl": round(worst.pnl, 2)} if worst else None,
        "limits": checks,
    }


def book_before(portfolio: Portfolio, day: date) -> tuple[BookInputs, RiskReport]:
    """The book's inputs and its report on `day` for a what-if, with what does not change
    with a trade kept in the cache under the market's data version: the factor history, and
    each position's revaluations (keyed by everything they depend on), so the pre-trade check
    of the next ticket revalues only the positions that changed since. Built outside a
    transaction only are stored (an uncommitted state is never shared)."""
    nav_row = NavRecord.objects.filter(portfolio=portfolio, date=day).first()
    if nav_row is None:
        raise ValidationError(f"{portfolio} has no NAV on {day:%Y-%m-%d}: run the MTM first.")
    kept = reusable(portfolio, day, asof=day, name="whatif")
    positions, warnings = book_positions(portfolio, day)
    inputs = BookInputs(
        portfolio=portfolio,
        day=day,
        nav=nav_row.nav_close,
        positions=positions,
        warnings=warnings,
        history=kept.history,
        ptax=fixing_on(FixingIndex.PTAX_SELL, day),
        scenarios=kept.scenarios,
        memo=kept.memo,
    )
    before = inputs.report()
    kept.keep(positions)
    return inputs, before


@dataclass
class Reusable:
    """What a repeated report of one fund (a what-if, the intraday risk) keeps between runs
    under the market's data version: the factor history of its close and each position's
    revaluations (keyed by everything they depend on), so the next run revalues only the
    positions that changed since."""

    history: FactorHistory
    scenarios: list[StressScenario]
    memo: Revaluations
    memo_key: str
    shared: bool

    def keep(self, positions: list[RiskPosition]) -> None:
        """Store the revaluations of `positions` for the next run (outside a transaction
        only: an uncommitted state is never shared)."""
        if self.shared and self.memo.misses:
            cache_set(self.memo_key, self.memo.keep_only(positions), WHAT_IF_TTL)


def reusable(portfolio: Portfolio, day: date, *, asof: date, name: str) -> Reusable:
    """The history of the close `day` and the revaluations kept by the last `name` run of the
    fund measured as of `asof` (stress revaluations depend on it)."""
    scenarios = list(StressScenario.objects.filter(active=True))
    stamp = max((s.updated_at for s in scenarios), default=None)
    market, _ = versions(None)
    shared = not transaction.get_connection().in_atomic_block
    history_key = f"rm:whatif-history:m{market}:{day.isoformat()}"
    memo_key = (
        f"rm:{name}-memo:{portfolio.pk}:m{market}:{day.isoformat()}:{asof.isoformat()}:"
        f"s{len(scenarios)}:{stamp.isoformat() if stamp else '-'}"
    )
    found = cache_get_many([history_key, memo_key])
    history = found.get(history_key)
    if history is None:
        history = shared_history(day)
        if shared:
            cache_set(history_key, history, WHAT_IF_TTL)
    memo = found.get(memo_key) or Revaluations()
    return Reusable(history, scenarios, memo, memo_key, shared)


def what_if(trades: Any, *, day: date | None = None) -> dict[str, Any]:
    """Risk before and after a proposed trade or a basket of them (any objects with their
    terms: portfolio, strategy, instrument, side, quantity; a proposal, a ticket), all of one
    fund; hard breaches listed for approval. The caller stores it, or not (the sandbox)."""
    basket = list(trades) if isinstance(trades, Sequence) else [trades]
    if not basket:
        raise ValidationError("Nothing to measure: the basket is empty.")
    portfolio = basket[0].portfolio
    if any(t.portfolio.pk != portfolio.pk for t in basket):
        raise ValidationError("A what-if measures one fund: every ticket must be in the same fund.")
    day = day or latest_risk_date(portfolio)
    if day is None:
        raise ValidationError(f"{portfolio} has no marked day to measure risk on.")
    inputs, before = book_before(portfolio, day)
    added = [hypothetical_position(t, day, key=f"ticket:{i}") for i, t in enumerate(basket)]
    after = inputs.report(added)
    checks_before, checks_after = check_limits(portfolio, before), check_limits(portfolio, after)
    # A new hard breach, or a hard breach the trade makes worse, needs an override note.
    before_use = {c["limit_id"]: c["utilisation"] for c in checks_before if c["level"] == "hard"}
    breaches = [
        f"{c['label']}: {c['utilisation']:.0%} of the hard limit"
        + (f" (from {before_use[c['limit_id']]:.0%})" if c["limit_id"] in before_use else "")
        for c in checks_after
        if c["level"] == "hard" and c["utilisation"] > before_use.get(c["limit_id"], 0.0) + 1e-9
    ]
    used_before = {c["limit_id"]: c["utilisation"] for c in checks_before}
    for check in checks_after:
        check["utilisation_before"] = used_before.get(check["limit_id"])
    summary_before, summary_after = _summary(before, checks_before), _summary(after, checks_after)
    return {
        "asof": day.isoformat(),
        "nav": float(inputs.nav),
        "before": summary_before,
        "after": summary_after,
        "changes": _changes(summary_before, summary_after),
        "hard_breaches": breaches,
        "trades": [_added(p, inputs.ptax) for p in added],
        "computed_at": timezone.now().isoformat(),
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """DV01 by vertex and exposures by strategy and asset class, before → after, where either
    is not zero (what the pages list)."""
    dv01 = [
        {"curve": curve, "du": du, "before": before["dv01_ladder"][curve].get(du, 0.0), "after": v}
        for curve, vertices in after["dv01_ladder"].items()
        for du, v in vertices.items()
        if v or before["dv01_ladder"][curve].get(du, 0.0)
    ]
    zero = {"gross_pct": 0.0, "net_pct": 0.0}
    keys = sorted((set(before["exposures"]) | set(after["exposures"])) - {"total"})
    scopes = {"strategy": "Strategy", "asset": "Asset class"}
    exposures = [
        {
            "key": key,
            "label": f"{scopes.get(key.partition(':')[0], key)} {key.partition(':')[2]}",
            "before": before["exposures"].get(key, zero)["net_pct"],
            "after": after["exposures"].get(key, zero)["net_pct"],
        }
        for key in keys
    ]
    return {"dv01": dv01, "exposures": exposures}


def _added(position: RiskPosition, ptax: Decimal | None) -> dict[str, Any]:
    """What one hypothetical trade adds (the pre-trade fat-finger rules read these)."""
    return {
        "ticker": position.ticker,
        "strategy": position.strategy,
        "quantity": float(position.quantity),
        "price": float(position.price),
        "rate": None if position.rate is None else float(position.rate),
        "exposure": float(position.exposure),
        "dv01": float(position.dv01),
        "fx_delta_usd": fx_delta([position], ptax),
        "ptax": None if ptax is None else float(ptax),
    }


def stress_pnl_for(
    portfolio: Portfolio, day: date, scenario: StressScenario, ticker: str
) -> Decimal:
    """One position's stress P&L (the sum over its strategies), for checks and drill-downs."""
    from apps.risk.engine import stress_pnl

    positions, _ = book_positions(portfolio, day)
    return sum((stress_pnl(p, scenario.shocks, day) for p in positions if p.ticker == ticker), D(0))
