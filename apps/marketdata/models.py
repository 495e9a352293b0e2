"""Instruments, settlement prices and index fixings."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.marketdata.validators import cnpj_error


class InstrumentKind(models.TextChoices):
    DI1 = "DI1", "DI1 — one-day interbank deposit future"
    DAP = "DAP", "DAP — IPCA coupon future"
    DDI = "DDI", "DDI — FX coupon future"
    FRC = "FRC", "FRC — FX coupon FRA"
    DOL = "DOL", "DOL — US dollar future"
    WDO = "WDO", "WDO — mini US dollar future"
    IND = "IND", "IND — Ibovespa future"
    WIN = "WIN", "WIN — mini Ibovespa future"
    LTN = "LTN", "LTN — zero-coupon federal bond"
    NTNF = "NTNF", "NTN-F — fixed-rate federal bond"
    NTNB = "NTNB", "NTN-B — IPCA-linked federal bond"
    LFT = "LFT", "LFT — Selic-linked federal bond"
    EQUITY = "EQUITY", "Equity"
    ETF = "ETF", "ETF"
    FX_SPOT = "FX_SPOT", "FX spot"
    OFFSHORE_FUTURE = "OFFSHORE_FUTURE", "Offshore future"
    CASH = "CASH", "Cash"


B3_FUTURES = (
    InstrumentKind.DI1,
    InstrumentKind.DAP,
    InstrumentKind.DDI,
    InstrumentKind.FRC,
    InstrumentKind.DOL,
    InstrumentKind.WDO,
    InstrumentKind.IND,
    InstrumentKind.WIN,
)
FEDERAL_BONDS = (InstrumentKind.LTN, InstrumentKind.NTNF, InstrumentKind.NTNB, InstrumentKind.LFT)
MATURING_KINDS = (*B3_FUTURES, *FEDERAL_BONDS, InstrumentKind.OFFSHORE_FUTURE)


def price_places(kind: str) -> int:
    """Decimals a trader reads a price of this kind in: federal-bond PUs to 6, others to 2."""
    return 6 if kind in FEDERAL_BONDS else 2


class AssetClass(models.TextChoices):
    RATES = "RATES", "Rates BR"
    INFLATION = "INFLATION", "Inflation"
    FX = "FX", "FX"
    EQUITY = "EQUITY", "Equities BR"
    OFFSHORE = "OFFSHORE", "Offshore"
    CASH = "CASH", "Cash"


class Currency(models.TextChoices):
    BRL = "BRL", "Brazilian real"
    USD = "USD", "US dollar"


class QuoteConvention(models.TextChoices):
    RATE = "RATE", "Rate (PU derived)"
    PRICE = "PRICE", "Price"


class IssuerKind(models.TextChoices):
    """Who stands behind an asset, as the issuer-concentration rules group them (CVM 175)."""

    UNIAO = "UNIAO", "União (federal government)"
    FINANCIAL = "FINANCIAL", "Financial institution"
    LISTED = "LISTED", "Listed company (companhia aberta)"
    FUND = "FUND", "Investment fund"
    OTHER = "OTHER", "Other (neither a financial institution nor a listed company)"


class Issuer(TimeStampedModel):
    """An issuer of the assets a fund holds (the back office keeps them in the admin)."""

    name = models.CharField(max_length=120, unique=True)
    cnpj = models.CharField(
        max_length=18,
        blank=True,
        help_text="CNPJ as 00.000.000/0000-00 (blank for a foreign issuer).",
    )
    kind = models.CharField(max_length=16, choices=IssuerKind.choices)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=IssuerKind.values), name="issuer_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        error = cnpj_error(self.cnpj) if self.cnpj else None
        if error:
            raise ValidationError({"cnpj": error})


class InstrumentQuerySet(models.QuerySet["Instrument"]):
    def active(self) -> InstrumentQuerySet:
        return self.filter(active=True)

    def of_kind(self, *kinds: str) -> InstrumentQuerySet:
        return self.filter(kind__in=kinds)


class Instrument(TimeStampedModel):
    ticker = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=16, choices=InstrumentKind.choices)
    asset_class = models.CharField(max_length=16, choices=AssetClass.choices)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.BRL)
    multiplier = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        default=Decimal("1"),
        help_text="Currency units per point of price (R$ 50 for DOL, R$ 0.20 for WIN, 1 per PU).",
    )
    maturity = models.DateField(null=True, blank=True)
    quote_convention = models.CharField(
        max_length=8, choices=QuoteConvention.choices, default=QuoteConvention.PRICE
    )
    underlying = models.CharField(max_length=32, blank=True)
    active = models.BooleanField(default=True)
    issuer = models.ForeignKey(
        Issuer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="instruments",
        help_text="Who issued it (bonds, shares, fund quotas). Blank for exchange-traded "
        "derivatives: their counterparty is B3's clearing, not an issuer.",
    )
    foreign = models.BooleanField(
        default=False,
        help_text="An asset abroad (ativo financeiro no exterior): counts towards the "
        "investment-abroad limit.",
    )

    objects = InstrumentQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "maturity", "ticker"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=InstrumentKind.values), name="instrument_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(asset_class__in=AssetClass.values), name="instrument_asset_class_valid"
            ),
            models.CheckConstraint(
                condition=Q(currency__in=Currency.values), name="instrument_currency_valid"
            ),
            models.CheckConstraint(
                condition=Q(quote_convention__in=QuoteConvention.values),
                name="instrument_quote_convention_valid",
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gt=0), name="instrument_multiplier_gt_0"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=MATURING_KINDS) | Q(maturity__isnull=False),
                name="instrument_maturity_required",
            ),
        ]

    def __str__(self) -> str:
        return self.ticker

    @property
    def is_rate_quoted(self) -> bool:
        return self.quote_convention == QuoteConvention.RATE

    @property
    def is_future(self) -> bool:
        return self.kind in B3_FUTURES or self.kind == InstrumentKind.OFFSHORE_FUTURE

    @property
    def price_places(self) -> int:
        """Decimals its price is shown in (`price_places`: bond PUs to 6, others to 2)."""
        return price_places(self.kind)


class PriceSource(models.TextChoices):
    MANUAL = "MANUAL", "Manual override"
    B3 = "B3", "B3 settlement report"
    ANBIMA = "ANBIMA", "ANBIMA"
    CSV = "CSV", "CSV import"
    DEMO = "DEMO", "Demo generator"


# Which price counts when several sources exist for one instrument and date: a manual
# override (always with a reason) beats the exchange, which beats a bulk CSV, which beats demo.
SOURCE_PRIORITY: tuple[str, ...] = (
    PriceSource.MANUAL,
    PriceSource.B3,
    PriceSource.ANBIMA,
    PriceSource.CSV,
    PriceSource.DEMO,
)


class SettlementPrice(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="prices")
    date = models.DateField()
    source = models.CharField(max_length=8, choices=PriceSource.choices)
    price = models.DecimalField(
        max_digits=24, decimal_places=8, help_text="Settlement price, or PU for rate-quoted."
    )
    rate = models.DecimalField(
        max_digits=14,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="Settlement rate as a decimal fraction (14.901 % = 0.14901).",
    )
    open_interest = models.BigIntegerField(null=True, blank=True)
    trades = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why a manual price was entered.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "instrument__ticker"]
        indexes = [models.Index(fields=["date", "instrument"])]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "date", "source"], name="price_unique_per_source"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="price_gt_0"),
            models.CheckConstraint(
                condition=Q(source__in=PriceSource.values), name="price_source_valid"
            ),
            models.CheckConstraint(
                condition=~Q(source=PriceSource.MANUAL) | ~Q(reason=""),
                name="price_manual_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.date:%Y-%m-%d} {self.price} ({self.source})"


class PriceRevision(models.Model):
    """Append-only record of every change to a stored settlement price."""

    price = models.ForeignKey(SettlementPrice, on_delete=models.PROTECT, related_name="revisions")
    old_price = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    old_rate = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    new_price = models.DecimalField(max_digits=24, decimal_places=8)
    new_rate = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="price_revision_needs_reason")
        ]

    def __str__(self) -> str:
        return f"{self.price.instrument} {self.price.date}: {self.old_price} → {self.new_price}"


class FixingIndex(models.TextChoices):
    # Units: rates are annual decimal fractions (13.15 % = 0.1315); IPCA_MONTHLY a monthly
    # fraction; PTAX in BRL per USD (4 decimals); VNAs in BRL (6 decimals); IPCA_INDEX points.
    CDI = "CDI", "CDI (annual, base 252)"
    SELIC = "SELIC", "Selic over (annual, base 252)"
    SELIC_TARGET = "SELIC_TARGET", "Selic target"
    IPCA_INDEX = "IPCA_INDEX", "IPCA index number"
    IPCA_MONTHLY = "IPCA_MONTHLY", "IPCA monthly change"
    # ANBIMA's projection of the month's IPCA (monthly fraction), dated the month's 1st: the DAP
    # pro-rata index grows by it between the 15ths (docs/MARKET_DATA.md).
    IPCA_PROJECTION = "IPCA_PROJECTION", "IPCA monthly projection (ANBIMA)"
    PTAX_BUY = "PTAX_BUY", "PTAX compra (BRL per USD)"
    PTAX_SELL = "PTAX_SELL", "PTAX venda (BRL per USD)"
    VNA_NTNB = "VNA_NTNB", "VNA NTN-B"
    VNA_LFT = "VNA_LFT", "VNA LFT"


class FixingQuerySet(models.QuerySet["Fixing"]):
    def of(self, index: str) -> FixingQuerySet:
        return self.filter(index=index)


class Fixing(models.Model):
    index = models.CharField(max_length=16, choices=FixingIndex.choices)
    date = models.DateField(help_text="Fixing date; for monthly IPCA, the reference month's 1st.")
    value = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=16, default="BCB")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FixingQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "index"]
        constraints = [
            models.UniqueConstraint(fields=["index", "date"], name="fixing_unique_per_date"),
            models.CheckConstraint(
                condition=Q(index__in=FixingIndex.values), name="fixing_index_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index} {self.date:%Y-%m-%d} = {self.value}"


class IntradayPrice(models.Model):
    """A price or rate seen during the trading day, entered by the desk (the book's grid, a
    CSV) or an API client. Provisional: it feeds the intraday estimate of the book and risk
    only; the MTM and the EOD never read it, and the day's official settlement supersedes it.
    Every entry is kept (the latest per instrument and day counts) and journaled."""

    class Source(models.TextChoices):
        GRID = "GRID", "Book grid"
        CSV = "CSV", "CSV upload"
        API = "API", "API"

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="intraday_prices"
    )
    day = models.DateField(help_text="The business day it was seen on.")
    at = models.DateTimeField(help_text="When the price was seen (the entry time if not given).")
    price = models.DecimalField(
        max_digits=24, decimal_places=8, help_text="Price or PU (for a rate: its PU that day)."
    )
    rate = models.DecimalField(
        max_digits=14, decimal_places=8, null=True, blank=True, help_text="Fraction: 0.1345."
    )
    source = models.CharField(max_length=4, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["day", "instrument", "at"], name="intraday_latest")]

    def __str__(self) -> str:
        return f"{self.instrument} {self.price} at {self.at:%Y-%m-%d %H:%M}"
