"""Trade entry and reversal pages (at /book/trade/…): every booking goes through
`apps.trading.services`, where pre-trade checks plug in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.actors import actor
from apps.core.permissions import role_required
from apps.core.templatetags.pms_format import num
from apps.positions.models import Position, Trade
from apps.positions.mtm import last_mark_date
from apps.trading import services
from apps.trading.forms import ReverseForm, TradeForm

TRADERS = services.TRADERS


@role_required(*TRADERS)
def trade_new(request: HttpRequest) -> HttpResponse:
    """Record a trade; a backdated one re-marks the book from its date, all or nothing."""
    form = TradeForm(request.POST or None, initial=_trade_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            trade = services.book_trade(form.ticket(), by=actor(request))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _recorded(trade))
            return redirect("positions:position", pk=trade.position_id)
    return render(request, "trading/trade_form.html", {"form": form})


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
            reversal = services.reverse_trade(
                trade, by=actor(request), reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, f"Trade #{trade.pk} not reversed: {' '.join(error.messages)}")
        else:
            messages.success(request, f"Trade #{trade.pk} reversed by #{reversal.pk}.")
    return redirect("positions:position", pk=trade.position_id)
