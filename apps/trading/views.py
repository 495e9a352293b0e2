"""Trade entry and reversal pages (at /book/trade/…), the override requests and the what-if
sandbox: every booking goes through `apps.trading.services` and its pre-trade check."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.actors import actor
from apps.core.permissions import role_required
from apps.core.roles import Role
from apps.core.templatetags.pms_format import num
from apps.positions.access import visible
from apps.positions.models import Position, Trade
from apps.positions.mtm import last_mark_date
from apps.positions.services import TradeTicket
from apps.trading import overrides, services
from apps.trading.forms import (
    DecideOverrideForm,
    ReverseForm,
    SandboxBasket,
    SandboxFundForm,
    TradeForm,
)
from apps.trading.models import OverrideRequest, OverrideStatus
from apps.trading.pretrade import TradeRefused, Verdict
from apps.trading.services import Booked

TRADERS = services.TRADERS
TRIERS = (*TRADERS, Role.APPROVER)


@role_required(*TRADERS)
def trade_new(request: HttpRequest) -> HttpResponse:
    """Check and record a trade ("check" only shows the verdict; "request_override" asks an
    approver to release a hard-limit breach); a backdated trade re-marks the book."""
    form = TradeForm(request.POST or None, initial=_trade_initial(request), user=request.user)
    verdict: Verdict | None = None
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action", "book")
        try:
            done = _trade_action(request, action, form)
        except TradeRefused as error:
            verdict = error.verdict
            form.add_service_errors(error)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if isinstance(done, Verdict):
                verdict = done
            else:
                return done
    context = {
        "form": form,
        "verdict": verdict,
        "may_request_override": bool(verdict and verdict.limit_blocks and not verdict.rule_blocks),
    }
    return render(request, "trading/trade_form.html", context)


def _trade_action(request: HttpRequest, action: str, form: TradeForm) -> HttpResponse | Verdict:
    data, by = form.cleaned_data, actor(request)
    if action == "check":
        return services.dry_run(form.ticket(), by=by)
    if action == "request_override":
        asked = overrides.request_override(
            form.ticket(),
            by=by,
            reason=data["override_reason"],
            confirm_warnings=data["confirm_warnings"],
        )
        messages.success(
            request,
            f"Override request #{asked.pk} sent: an approver other than you must grant it; "
            "the trade is booked when granted.",
        )
        return redirect("trading:overrides")
    booked = services.book_trade(form.ticket(), by=by, confirm_warnings=data["confirm_warnings"])
    messages.success(request, _recorded(booked))
    return redirect("positions:position", pk=booked.trade.position_id)


def _trade_initial(request: HttpRequest) -> dict[str, Any]:
    """Pre-fill from `?position=<id>` (the position page's "Trade" link)."""
    raw = request.GET.get("position", "")
    rows = visible(request.user, Position.objects.all(), field="portfolio_id")
    position = rows.filter(pk=raw).first() if raw.isdigit() else None
    if position is None:
        return {}
    return {
        "portfolio": position.portfolio_id,
        "strategy": position.strategy_id,
        "instrument": position.instrument_id,
    }


def _recorded(booked: Booked) -> str:
    trade = booked.trade
    places = 0 if trade.quantity == trade.quantity.to_integral_value() else 4
    quantity = num(trade.quantity, places)
    text = f"Trade #{trade.pk} recorded: {trade.side} {quantity} {trade.instrument}."
    last = last_mark_date(trade.portfolio)
    if last is not None and trade.trade_date <= last:
        text += f" Marks from {trade.trade_date:%d/%m/%Y} to {last:%d/%m/%Y} recomputed."
    return text + _warnings_kept(booked.verdict)


def _warnings_kept(verdict: Verdict) -> str:
    """What the check said of a booked trade: its warnings, and for a reversal (never
    refused) or an overridden breach its blocks too; all journaled with the trade."""
    said = verdict.blocks + verdict.warnings
    if not said:
        return ""
    return " Pre-trade warnings (journaled): " + " ".join(r.message for r in said)


@require_POST
@role_required(*TRADERS)
def trade_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """Reverse a trade (reason mandatory) and re-mark from its date; never refused by the
    pre-trade check, whose warnings are shown and journaled."""
    rows = visible(request.user, Trade.objects.select_related("portfolio"), field="portfolio_id")
    trade = get_object_or_404(rows, pk=pk)
    form = ReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A reason is required to reverse a trade.")
    else:
        try:
            booked = services.reverse_trade(
                trade, by=actor(request), reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, f"Trade #{trade.pk} not reversed: {' '.join(error.messages)}")
        else:
            text = f"Trade #{trade.pk} reversed by #{booked.trade.pk}."
            messages.success(request, text + _warnings_kept(booked.verdict))
    return redirect("positions:position", pk=trade.position_id)


# --- hard-limit overrides ------------------------------------------------------------------------


@role_required(*TRIERS)
def override_list(request: HttpRequest) -> HttpResponse:
    """Pending override requests (grant or decline them, if you are not their booker) and the
    latest decided ones."""
    rows = OverrideRequest.objects.select_related(
        "portfolio", "strategy", "instrument", "requested_by", "decided_by", "trade"
    )
    rows = visible(request.user, rows, field="portfolio_id")
    pending = rows.filter(status=OverrideStatus.PENDING).order_by("created_at")
    context = {
        "pending": [(r, overrides.may_grant(r, request.user)) for r in pending],
        "decided": rows.exclude(status=OverrideStatus.PENDING).order_by("-decided_at")[:20],
        "form": DecideOverrideForm(),
    }
    return render(request, "trading/overrides.html", context)


@require_POST
@role_required(Role.MANAGER, Role.APPROVER)
def override_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Grant (the ticket is booked now) or decline an override request; a note is required."""
    rows = visible(request.user, OverrideRequest.objects.all(), field="portfolio_id")
    request_row = get_object_or_404(rows, pk=pk)
    form = DecideOverrideForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if decision == "grant":
            booked = overrides.grant_override(request_row, by=actor(request), note=note)
            messages.success(request, f"Override #{pk} granted: trade #{booked.trade.pk} booked.")
        else:
            overrides.decline_override(request_row, by=actor(request), note=note)
            messages.success(request, f"Override #{pk} declined.")
    except (ValidationError, PermissionDenied) as error:
        problems = error.messages if isinstance(error, ValidationError) else [str(error)]
        messages.error(request, f"Override #{pk}: {' '.join(problems)}")
    return redirect("trading:overrides")


# --- the what-if sandbox -------------------------------------------------------------------------


@role_required(*TRIERS)
def sandbox(request: HttpRequest) -> HttpResponse:
    """Try a ticket or a basket: every pre-trade rule and the what-if, nothing written."""
    fund = SandboxFundForm(request.POST or None, user=request.user)
    basket = SandboxBasket(request.POST or None, prefix="t", form_kwargs={"user": request.user})
    verdict, tickets = None, []
    if request.method == "POST" and fund.is_valid() and basket.is_valid():
        tickets = _tickets(fund.cleaned_data, basket)
        if not tickets:
            fund.add_error(None, "Fill in at least one ticket.")
        else:
            try:
                verdict = services.try_basket(tickets, by=actor(request))
            except ValidationError as error:
                fund.add_error(None, error.messages)
    context = {"fund": fund, "basket": basket, "verdict": verdict, "tickets": tickets}
    return render(request, "trading/sandbox.html", context)


def _tickets(fund: dict[str, Any], basket: Any) -> list[TradeTicket]:
    return [
        TradeTicket(
            portfolio=fund["portfolio"],
            strategy=line.cleaned_data["strategy"],
            instrument=line.cleaned_data["instrument"],
            side=line.cleaned_data["side"],
            quantity=line.cleaned_data["quantity"],
            trade_date=fund["trade_date"],
            price=line.cleaned_data.get("price"),
            rate=line.cleaned_data.get("rate"),
        )
        for line in basket
        if line.cleaned_data and not line.is_blank
    ]
