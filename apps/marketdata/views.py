"""Market overview page: fixings, the DI1 curve and the day's settlements."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.marketdata.overview import build_overview
from apps.marketdata.queries import latest_complete_price_date, latest_price_date


def overview(request: HttpRequest) -> HttpResponse:
    """Settlements and fixings as of a date (default: the latest complete date)."""
    requested = request.GET.get("date", "")
    error = ""
    newest = latest_price_date()
    day = latest_complete_price_date() or newest
    if requested:
        try:
            day = latest_price_date(date.fromisoformat(requested))
        except ValueError:
            error = f"{requested!r} is not a date (use YYYY-MM-DD)."
    context = {
        "data": build_overview(day) if day else None,
        "error": error,
        # A newer date holds only part of the market (a partial upload): say so, link it.
        "incomplete_day": newest if not requested and day and newest and newest > day else None,
    }
    return render(request, "marketdata/overview.html", context)
