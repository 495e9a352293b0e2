"""Portfolios, strategies, the immutable trade ledger, positions (a projection), daily marks
and the NAV bridge."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.models import TimeStampedModel
from apps.marketdata.models import Instrument


def _decimal(digits: int, places: int) -> Callable[..., models.DecimalField]:
    def field(**kwargs: Any) -> models.DecimalField:
        return models.DecimalField(max_digits=digits, decimal_places=places, **kwargs)

    return field


money = _decimal(20, 2)  # BRL, cents
quantity_field = _decimal(20, 4)
price_field = _decimal(24, 8)  # price or PU
rate_field = _decimal(14, 8)  # decimal fraction
fx_field = _decimal(14, 6)  # BRL per USD


class PortfolioQuerySet(models.QuerySet["Portfolio"]):
    def active(self) -> PortfolioQuerySet:
        return self.filter(active=True)


class Portfolio(TimeStampedModel):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    base_currency = models.CharField(max_length=3, default="BRL", editable=False)
    inception_date = models.DateField()
    initial_nav = money()
    active = models.BooleanField(default=True)

    objects = PortfolioQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(initial_nav__gt=0), name="portfolio_nav_gt_0"),
            models.CheckConstraint(condition=Q(base_currency="BRL"), name="portfolio_brl_base"),
        ]

    def __str__(self) -> str:
        return self.name


class Strategy(TimeStampedModel):
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="strategies")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["portfolio", "name"]
        verbose_name_plural = "strategies"
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "code"], name="strategy_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class CapitalFlow(models.Model):
    class Kind(models.TextChoices):
        SUBSCRIPTION = "SUBSCRIPTION", "Subscription"
        REDEMPTION = "REDEMPTION", "Redemption"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="flows")
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = money(help_text="Positive; the kind gives the direction.")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["portfolio", "date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="flow_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(kind__in=["SUBSCRIPTION", "REDEMPTION"]), name="flow_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} on {self.date}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.kind == self.Kind.SUBSCRIPTION else -self.amount


class Side(models.TextChoices):
    # Always in price (PU) terms: for DI1/DAP/DDI, BUY is long PU = selling rate ("dar taxa").
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class TradeQuerySet(models.QuerySet["Trade"]):
    def effective(self) -> TradeQuerySet:
        """Trades that count: neither reversed nor a reversal (the pair cancels out)."""
        return self.filter(reverses__isnull=True, reversed_by__isnull=True)

    def for_portfolio(self, portfolio: Portfolio) -> TradeQuerySet:
        return self.filter(portfolio=portfolio)


class Trade(models.Model):
    """An executed fill. Never edited or deleted: a wrong trade is reversed by its opposite."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="trades")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="trades")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades")
    position = models.ForeignKey(
        "Position", on_delete=models.PROTECT, related_name="trades", null=True, blank=True
    )
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = quantity_field(help_text="Positive; the side gives the direction.")
    price = price_field(help_text="Price, or the PU derived from the rate.")
    rate = rate_field(null=True, blank=True, help_text="Decimal fraction.")
    trade_date = models.DateField()
    settlement_date = models.DateField()
    fx_rate = fx_field(
        default=Decimal("1"), help_text="PTAX (BRL per USD) of the trade date; 1 for BRL."
    )
    fees = money(default=Decimal("0"), help_text="BRL, positive.")
    broker = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        help_text="The trade this one cancels.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TradeQuerySet.as_manager()

    class Meta:
        ordering = ["trade_date", "pk"]
        indexes = [models.Index(fields=["portfolio", "trade_date"])]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_gt_0"),
            models.CheckConstraint(condition=Q(fx_rate__gt=0), name="trade_fx_gt_0"),
            models.CheckConstraint(condition=Q(fees__gte=0), name="trade_fees_gte_0"),
            models.CheckConstraint(condition=Q(side__in=["BUY", "SELL"]), name="trade_side_valid"),
            models.CheckConstraint(
                condition=Q(settlement_date__gte=F("trade_date")), name="trade_settles_after"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.quantity} {self.instrument} @ {self.price}"

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side == Side.BUY else -self.quantity


class PositionQuerySet(models.QuerySet["Position"]):
    def open(self) -> PositionQuerySet:
        return self.exclude(quantity=0)

    def for_portfolio(self, portfolio: Portfolio) -> PositionQuerySet:
        return self.filter(portfolio=portfolio)


class Position(TimeStampedModel):
    """Projection of the trades of one (portfolio, strategy, instrument); see services.apply."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="positions")
    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    quantity = quantity_field(default=Decimal("0"), help_text="Signed; < 0 is short.")
    avg_cost = price_field(default=Decimal("0"), help_text="Average open price.")
    realized_pnl = money(
        default=Decimal("0"), help_text="BRL realised by closing trades (cash assets)."
    )
    opened_date = models.DateField(null=True, blank=True)
    closed_date = models.DateField(null=True, blank=True)
    thesis = models.TextField(blank=True)
    stop = price_field(null=True, blank=True)
    target = price_field(null=True, blank=True)

    objects = PositionQuerySet.as_manager()

    class Meta:
        ordering = ["portfolio", "strategy", "instrument__ticker"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "strategy", "instrument"], name="position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity=0) | Q(closed_date__isnull=True),
                name="position_open_has_no_close_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} in {self.strategy}: {self.quantity}"

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    @property
    def direction(self) -> str:
        if self.quantity == 0:
            return "flat"
        return "long" if self.quantity > 0 else "short"


class DailyMark(models.Model):
    """One position on one business date, as computed by the MTM engine (never typed in)."""

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="marks")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="marks")
    date = models.DateField()
    quantity = quantity_field()
    price = price_field(help_text="Settlement price / PU used.")
    rate = rate_field(null=True, blank=True)
    fx_rate = fx_field(default=Decimal("1"))
    notional_brl = money()
    exposure_brl = money(help_text="Signed delta-equivalent exposure.")
    market_value_brl = money(help_text="Value held in the NAV (0 for daily-settled futures).")
    cost_basis_brl = money(
        default=Decimal("0"), help_text="Signed entry value of the open quantity (cash)."
    )
    dv01_brl = money(default=Decimal("0"), help_text="P&L for a +1 bp rise in the rate.")
    pnl_price_brl = money(default=Decimal("0"))
    pnl_fx_brl = money(default=Decimal("0"))
    pnl_carry_brl = money(
        default=Decimal("0"), help_text="Part of the price P&L from CDI carry (DI1, DAP)."
    )
    fees_brl = money(default=Decimal("0"), help_text="Negative = paid.")
    pnl_brl = money(help_text="Day P&L before fees: price + FX.")
    cash_flow_brl = money(
        default=Decimal("0"), help_text="Cash in (+) / out (−) from trades and ajustes."
    )
    realized_pnl_brl = money(help_text="Cumulative realised P&L.")
    unrealized_pnl_brl = money(help_text="Open P&L at this date.")
    cum_pnl_brl = money(help_text="Cumulative P&L since opening.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "position"]
        indexes = [models.Index(fields=["portfolio", "date"])]
        constraints = [
            models.UniqueConstraint(fields=["position", "date"], name="mark_unique_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.position.instrument} {self.date}: {self.pnl_brl}"


def _within_half_cent(field: str, expression: Any) -> Q:
    # Equality to the cent; written as a half-cent band because SQLite evaluates the check in
    # floating point (PostgreSQL's numeric is exact, where this is plain equality).
    half = Decimal("0.005")
    return Q(**{f"{field}__gte": expression - half, f"{field}__lte": expression + half})


class NavRecord(models.Model):
    """The NAV bridge of one portfolio and date: NAV_t = NAV_{t−1} + P&L + carry + fees + flows."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="navs")
    date = models.DateField()
    nav_open = money()
    pnl_brl = money(help_text="Positions' P&L (price + FX).")
    cash_interest_brl = money(help_text="CDI accrued on cash.")
    fees_brl = money(help_text="Negative = paid.")
    flows_brl = money(help_text="Subscriptions − redemptions.")
    nav_close = money()
    cash_brl = money()
    holdings_value_brl = money()
    computed_at = models.DateTimeField(auto_now=True)
    prices_version = models.PositiveBigIntegerField(
        default=0, help_text="The official prices' change counter the marks were computed on."
    )

    class Meta:
        ordering = ["portfolio", "date"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "date"], name="nav_unique_per_day"),
            models.CheckConstraint(
                condition=_within_half_cent(
                    "nav_close",
                    F("nav_open")
                    + F("pnl_brl")
                    + F("cash_interest_brl")
                    + F("fees_brl")
                    + F("flows_brl"),
                ),
                name="nav_bridge_closes",
            ),
            models.CheckConstraint(
                condition=_within_half_cent("nav_close", F("cash_brl") + F("holdings_value_brl")),
                name="nav_equals_cash_plus_holdings",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio} {self.date}: {self.nav_close}"


class FundAccess(TimeStampedModel):
    """A grant: a user, or everyone in a group, may see one fund, or every fund ("all funds").

    Every page, API endpoint, export and admin list shows only the funds a user's grants name
    (`apps.positions.access`); superusers see every fund. Granted and revoked in the admin,
    each change journaled with who and why."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fund_grants",
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="fund_grants"
    )
    portfolio = models.ForeignKey(
        Portfolio, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    all_funds = models.BooleanField(default=False, help_text="Every fund, present and future.")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "fund grant"
        ordering = ["user__username", "group__name", "portfolio__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="fund_access_one_grantee",
            ),
            models.CheckConstraint(
                condition=Q(portfolio__isnull=False, all_funds=False)
                | Q(portfolio__isnull=True, all_funds=True),
                name="fund_access_one_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "portfolio"], name="fund_access_user_portfolio_unique"
            ),
            models.UniqueConstraint(
                fields=["group", "portfolio"], name="fund_access_group_portfolio_unique"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(all_funds=True), name="fund_access_user_all_unique"
            ),
            models.UniqueConstraint(
                fields=["group"], condition=Q(all_funds=True), name="fund_access_group_all_unique"
            ),
        ]

    def __str__(self) -> str:
        grantee = self.user or self.group
        return f"{grantee}: {'all funds' if self.all_funds else self.portfolio}"


class RemarkRequest(models.Model):
    """Queued work: re-mark a fund from a day, because official prices or fixings of a day
    already marked were written (a manual override, a late import). Written in the price's
    own transaction (`apps.positions.remarks.queue_remark`), so a dead broker loses nothing;
    run by its task after commit or by the periodic sweep. One row per fund: a later change
    moves `from_day` back if it must and counts a new `generation`, which tells the running
    re-mark to go round again."""

    portfolio = models.OneToOneField(
        Portfolio, on_delete=models.CASCADE, related_name="remark_request"
    )
    from_day = models.DateField(help_text="The first day to re-mark.")
    reason = models.CharField(max_length=300)
    requested_at = models.DateTimeField(auto_now_add=True)
    generation = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)
    tried_at = models.DateTimeField(null=True, blank=True, help_text="The last failed attempt.")
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"re-mark {self.portfolio} from {self.from_day} ({self.reason})"
