"""The book, a position, trade entry and corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from apps.ops.page_cache import cached_page
from apps.ops.roles import Role, has_role
from apps.ops.templatetags.pms_format import num
from apps.positions import corrections, services
from apps.positions.forms import PositionPlanForm, ReverseForm, TradeForm
from apps.positions.models import DailyMark, Portfolio, Position, Trade
from apps.positions.mtm import last_mark_date
from apps.positions.queries import BOND_KINDS, active_funds, cached_book, is_history, side_label

TRADERS = (Role.MANAGER, Role.BACK_OFFICE)
MARKS_PER_PAGE = 60


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """403 unless the user holds one of `roles` (every role may read)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied("Your role does not open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _parse_day(raw: str) -> tuple[date, str]:
    today = timezone.localdate()
    if not raw:
        return today, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return today, f"{raw!r} is not a date (use YYYY-MM-DD); showing the latest marks."


@role_required(*Role.values)
def book(request: HtmxHttpRequest) -> HttpResponse:
    """The book as of a date; an htmx request gets only the `_book_table.html` fragment."""
    code, raw_day = request.GET.get("portfolio", ""), request.GET.get("date", "")
    day, error = _parse_day(raw_day)
    filters: dict[str, Any] = {
        "strategy": request.GET.get("strategy") or None,
        "asset_class": request.GET.get("asset_class") or None,
        "include_closed": request.GET.get("closed") == "1",
    }
    can_trade = _trader(request)

    def build() -> tuple[dict[str, Any], str]:
        portfolios = list(Portfolio.objects.active())
        portfolio = next(
            (p for p in portfolios if p.code == code), portfolios[0] if portfolios else None
        )
        cached = cached_book(portfolio, day, **filters) if portfolio is not None else None
        context = {
            "book": cached.value if cached else None,
            "portfolios": portfolios,
            "error": error,
            "date_given": bool(raw_day),
            "can_trade": can_trade,
        }
        return context, cached.status if cached else "bypass"

    return cached_page(
        request,
        name="book",
        code=code,
        funds=active_funds,
        params={"portfolio": code, "date": raw_day, "day": day, **filters, "trader": can_trade},
        build=build,
        template="positions/book.html",
        title=lambda context: "Book",
        fragment="positions/_book_table.html",
        bypass=bool(error),  # a mistyped date: shown once, not kept
        history=lambda portfolio_id: is_history(portfolio_id, day),
    )


@role_required(*Role.values)
def position(request: HttpRequest, pk: int) -> HttpResponse:
    """One position: plan, P&L charts, trades with reversals, marks (paginated)."""
    position = get_object_or_404(
        Position.objects.select_related("portfolio", "strategy", "instrument"), pk=pk
    )
    marks = DailyMark.objects.filter(position=position)
    page = Paginator(marks.order_by("-date"), MARKS_PER_PAGE).get_page(request.GET.get("page"))
    history = list(marks.order_by("date").values_list("date", "pnl_brl", "cum_pnl_brl"))
    trades = position.trades.select_related("reverses", "reversed_by", "created_by")
    context = {
        "position": position,
        "side": side_label(position.quantity, position.instrument.is_rate_quoted),
        "last": marks.order_by("-date").first(),
        "price_places": 6 if position.instrument.kind in BOND_KINDS else 2,
        "marks": page,
        "trades": trades.order_by("trade_date", "pk"),
        "chart": _chart(history),
        "plan_form": PositionPlanForm(
            initial={"thesis": position.thesis, "stop": position.stop, "target": position.target}
        ),
        "can_trade": _trader(request),
        "can_plan": has_role(request.user, Role.MANAGER),
    }
    return render(request, "positions/position.html", context)


@require_POST
@role_required(Role.MANAGER)
def position_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the manager's thesis, stop and target."""
    position = get_object_or_404(Position, pk=pk)
    form = PositionPlanForm(request.POST)
    if form.is_valid():
        services.update_position_plan(position, by=request.user, **form.cleaned_data)
        messages.success(request, "Thesis, stop and target saved.")
    else:
        messages.error(request, _errors(form.errors.as_data()))
    return redirect("positions:position", pk=position.pk)


@require_POST
@role_required(*TRADERS)
def trade_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """Reverse a trade (reason mandatory) and re-mark from its date."""
    trade = get_object_or_404(Trade.objects.select_related("portfolio"), pk=pk)
    form = ReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A reason is required to reverse a trade.")
    else:
        try:
            reversal = corrections.reverse_and_remark(
                trade, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, f"Trade #{trade.pk} not reversed: {' '.join(error.messages)}")
        else:
            messages.success(request, f"Trade #{trade.pk} reversed by #{reversal.pk}.")
    return redirect("positions:position", pk=trade.position_id)


@role_required(*TRADERS)
def trade_new(request: HttpRequest) -> HttpResponse:
    """Record a trade; a backdated one re-marks the book from its date, all or nothing."""
    form = TradeForm(request.POST or None, initial=_trade_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            trade = corrections.record_and_remark(form.ticket(), by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _recorded(trade))
            return redirect("positions:position", pk=trade.position_id)
    return render(request, "positions/trade_form.html", {"form": form})


def _trade_initial(request: HttpRequest) -> dict[str, Any]:
    """Pre-fill from `?position=<id>` (the position page's "Trade" link)."""
    raw = request.GET.get("position", "")
    position = Position.objects.filter(pk=raw).first() if raw.isdigit() else None
    if position is None:
        return {}
    return {
        "portfolio": position.portfolio_id,
        "strategy": position.strategy_id,
        "instrument": position.instrument_id,
    }


def _recorded(trade: Trade) -> str:
    places = 0 if trade.quantity == trade.quantity.to_integral_value() else 4
    quantity = num(trade.quantity, places)
    text = f"Trade #{trade.pk} recorded: {trade.side} {quantity} {trade.instrument}."
    last = last_mark_date(trade.portfolio)
    if last is not None and trade.trade_date <= last:
        text += f" Marks from {trade.trade_date:%d/%m/%Y} to {last:%d/%m/%Y} recomputed."
    return text


def _trader(request: HttpRequest) -> bool:
    return has_role(request.user, *TRADERS)


def _errors(errors: dict[str, list[ValidationError]]) -> str:
    return " ".join(
        f"{name}: {' '.join(e.messages[0] for e in errs)}" for name, errs in errors.items()
    )


def _chart(history: list[tuple[date, Any, Any]]) -> dict[str, list[Any]]:
    """Chart.js series: dates, daily P&L and cumulative P&L in BRL (floats only for drawing)."""
    return {
        "labels": [d.isoformat() for d, _, _ in history],
        "daily": [float(pnl) for _, pnl, _ in history],
        "cumulative": [float(cum) for _, _, cum in history],
    }
