"""The rule maths: plain numbers in, one result per rule out (no ORM, so the EOD, the
pre-trade check and the sandbox evaluate the same way)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from apps.compliance.models import COUNT_KINDS, RuleKind, Severity, Status

D = Decimal
ZERO = D(0)
PLACES = D("0.000001")  # a millionth of NAV: RuleCheck.value's places


@dataclass(frozen=True)
class Holding:
    """One position as the rules see it: its signed delta exposure (BRL) and who stands
    behind it."""

    ticker: str
    kind: str
    asset_class: str
    exposure: Decimal
    issuer: str | None = None  # the issuer's name
    issuer_kind: str | None = None
    foreign: bool = False


@dataclass(frozen=True)
class Book:
    """A fund's book on a day: its holdings, NAV, cash and the B3 margin (None: not entered)."""

    holdings: tuple[Holding, ...]
    nav: Decimal
    cash: Decimal
    margin: Decimal | None = None
    margin_note: str = ""

    def plus(self, added: Iterable[Holding], cash_change: Decimal = ZERO) -> Book:
        """The book with `added` holdings (a ticket or a basket) netted into the positions in
        the same instrument, same NAV."""
        by_ticker = {h.ticker: h for h in self.holdings}
        for extra in added:
            held = by_ticker.get(extra.ticker)
            exposure = extra.exposure + (held.exposure if held else ZERO)
            by_ticker[extra.ticker] = replace(held or extra, exposure=exposure)
        return replace(self, holdings=tuple(by_ticker.values()), cash=self.cash + cash_change)


@dataclass(frozen=True)
class RuleSpec:
    """A rule's settings (the model's fields the maths needs)."""

    code: str
    name: str
    kind: str
    scope: tuple[str, ...]
    limit: Decimal
    severity: str


@dataclass(frozen=True)
class Result:
    code: str
    name: str
    kind: str
    severity: str
    value: Decimal | None  # a fraction of NAV, or a number of positions
    limit: Decimal
    status: str
    detail: str

    @property
    def utilisation(self) -> Decimal | None:
        return utilisation(self.kind, self.value, self.limit)

    def breaches(self) -> bool:
        return self.status in (Status.WARN, Status.BREACH)

    def worse_than(self, before: Result | None) -> bool:
        """True when this result breaches and `before` did not, or breached less."""
        if not self.breaches():
            return False
        if before is None or not before.breaches() or before.value is None:
            return True
        if self.value is None:
            return False
        floor = self.kind == RuleKind.MIN_CASH
        return self.value < before.value if floor else self.value > before.value


def utilisation(kind: str, value: Decimal | None, limit: Decimal) -> Decimal | None:
    """How much of the limit is used (1 = at the limit); for the cash floor, limit ÷ value;
    None for counts and where nothing was measured."""
    if value is None or kind in COUNT_KINDS:
        return None
    if kind == RuleKind.MIN_CASH:
        return limit / value if value > 0 else None
    return value / limit if limit else None


def evaluate(rules: Sequence[RuleSpec], book: Book) -> list[Result]:
    """Every rule on `book`."""
    return [_evaluate(rule, book) for rule in rules]


def _evaluate(rule: RuleSpec, book: Book) -> Result:
    value, detail = measure(rule, book)
    if value is not None:
        value = value.quantize(PLACES)  # as the checks keep it
    status: str
    if value is None:
        status = Status.NA
    elif rule.kind == RuleKind.MIN_CASH:
        status = _over(value < rule.limit, rule)
    else:
        status = _over(value > rule.limit, rule)
    return Result(rule.code, rule.name, rule.kind, rule.severity, value, rule.limit, status, detail)


def _over(breached: bool, rule: RuleSpec) -> str:
    if not breached:
        return Status.PASS
    return Status.BREACH if rule.severity == Severity.HARD else Status.WARN


def measure(rule: RuleSpec, book: Book) -> tuple[Decimal | None, str]:
    """The rule's number on the book and a line saying what it is made of."""
    if book.nav <= 0:
        return None, "No NAV: nothing to measure against."
    kind, scope, nav = rule.kind, rule.scope, book.nav
    held = [h for h in book.holdings if h.exposure]
    if kind == RuleKind.GROSS_EXPOSURE:
        gross = sum((abs(h.exposure) for h in held), ZERO)
        return gross / nav, f"gross R$ {gross:,.0f} over {len(held)} positions"
    if kind == RuleKind.NET_EXPOSURE:
        net = sum((h.exposure for h in held), ZERO)
        return abs(net) / nav, f"net R$ {net:+,.0f}"
    if kind == RuleKind.MARGIN:
        if book.margin is None:
            return None, book.margin_note or "No B3 margin entered for the day."
        return book.margin / nav, f"margin R$ {book.margin:,.0f} {book.margin_note}".strip()
    if kind == RuleKind.FOREIGN:
        abroad = [h for h in held if h.foreign]
        total = sum((abs(h.exposure) for h in abroad), ZERO)
        return total / nav, _named("abroad", total, abroad)
    if kind in (RuleKind.ISSUER, RuleKind.ISSUER_KIND):
        return _issuers(kind, scope, held, nav)
    if kind == RuleKind.INSTRUMENT:
        chosen = [h for h in held if not scope or h.kind in scope]
        by_ticker = _sums((h.ticker, abs(h.exposure)) for h in chosen)
        return _largest(by_ticker, nav, "instrument")
    if kind == RuleKind.ASSET_CLASS:
        inside = [h for h in held if h.asset_class in scope]
        total = sum((abs(h.exposure) for h in inside), ZERO)
        return total / nav, _named(scope[0], total, inside)
    if kind in COUNT_KINDS:
        forbidden = kind == RuleKind.FORBIDDEN_KINDS
        outside = [h for h in held if (h.kind in scope) == forbidden]
        names = ", ".join(sorted({h.ticker for h in outside})) or "none"
        return D(len(outside)), f"positions {'in' if forbidden else 'outside'} them: {names}"
    if kind == RuleKind.MIN_CASH:
        return book.cash / nav, f"cash R$ {book.cash:,.0f}"
    raise ValueError(f"unknown compliance rule kind {kind!r}")


def _issuers(
    kind: str, scope: tuple[str, ...], held: list[Holding], nav: Decimal
) -> tuple[Decimal, str]:
    chosen = [h for h in held if h.issuer and (not scope or h.issuer_kind in scope)]
    if kind == RuleKind.ISSUER_KIND:
        total = sum((abs(h.exposure) for h in chosen), ZERO)
        issuers = sorted({h.issuer for h in chosen if h.issuer})
        return total / nav, f"R$ {total:,.0f} in {', '.join(issuers) or 'no issuer of the kind'}"
    return _largest(_sums((h.issuer or "", abs(h.exposure)) for h in chosen), nav, "issuer")


def _sums(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for name, amount in pairs:
        sums[name] += amount
    return sums


def _largest(sums: dict[str, Decimal], nav: Decimal, what: str) -> tuple[Decimal, str]:
    if not sums:
        return ZERO, f"no {what} in scope"
    name, amount = max(sums.items(), key=lambda item: (item[1], item[0]))
    return amount / nav, f"largest {what}: {name}, R$ {amount:,.0f}"


def _named(label: str, total: Decimal, holdings: list[Holding]) -> str:
    tickers = ", ".join(sorted({h.ticker for h in holdings})[:6]) or "none"
    return f"{label} R$ {total:,.0f} ({tickers})"
