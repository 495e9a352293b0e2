"""The book, a position and its plan (trade entry and reversal: `apps.trading.views`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from apps.core.actors import actor
from apps.core.page_cache import cached_page
from apps.core.permissions import role_required
from apps.core.roles import Role, has_role
from apps.marketdata.intraday import ENTERERS
from apps.positions import picker, services
from apps.positions.access import has_any_fund, visible
from apps.positions.forms import PositionPlanForm
from apps.positions.intraday import cached_estimate
from apps.positions.models import DailyMark, Portfolio, Position, RemarkRequest
from apps.positions.queries import cached_book, is_history, side_label

TRADERS = (Role.MANAGER, Role.BACK_OFFICE)
MARKS_PER_PAGE = 60


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


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
    funds, code = picker.pick(request)
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Book")
    raw_day = request.GET.get("date", "")
    day, error = _parse_day(raw_day)
    filters: dict[str, Any] = {
        "strategy": request.GET.get("strategy") or None,
        "asset_class": request.GET.get("asset_class") or None,
        "include_closed": request.GET.get("closed") == "1",
    }
    can_trade = _trader(request)
    can_enter = has_role(request.user, *ENTERERS)

    def build() -> tuple[dict[str, Any], str]:
        portfolios = list(visible(request.user, Portfolio.objects.active()))
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
            "can_enter_prices": can_enter,
        }
        if portfolio is not None and not raw_day:  # the latest view: the book now
            context["estimate"] = cached_estimate(portfolio).value
            context["remark"] = RemarkRequest.objects.filter(portfolio=portfolio).first()
        return context, cached.status if cached else "bypass"

    return cached_page(
        request,
        name="book",
        code=code,
        funds=funds,
        params={
            "portfolio": code,
            "date": raw_day,
            "day": day,
            **filters,
            "trader": can_trade,
            "enter": can_enter,
        },
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
    rows = Position.objects.select_related("portfolio", "strategy", "instrument")
    position = get_object_or_404(visible(request.user, rows, field="portfolio_id"), pk=pk)
    marks = DailyMark.objects.filter(position=position)
    page = Paginator(marks.order_by("-date"), MARKS_PER_PAGE).get_page(request.GET.get("page"))
    history = list(marks.order_by("date").values_list("date", "pnl_brl", "cum_pnl_brl"))
    trades = position.trades.select_related("reverses", "reversed_by", "created_by")
    context = {
        "position": position,
        "side": side_label(position.quantity, position.instrument.is_rate_quoted),
        "last": marks.order_by("-date").first(),
        "price_places": position.instrument.price_places,
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
    position = get_object_or_404(
        visible(request.user, Position.objects.all(), field="portfolio_id"), pk=pk
    )
    form = PositionPlanForm(request.POST)
    if form.is_valid():
        services.update_position_plan(position, by=actor(request), **form.cleaned_data)
        messages.success(request, "Thesis, stop and target saved.")
    else:
        messages.error(request, _errors(form.errors.as_data()))
    return redirect("positions:position", pk=position.pk)


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
