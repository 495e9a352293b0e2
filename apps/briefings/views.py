"""The morning pack page: the latest or a dated pack, its versions, generation and the PDF."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.briefings import pdf
from apps.briefings.models import MorningPack, pack_freshness
from apps.briefings.queries import (
    Morning,
    cached_morning,
    facts_view,
    narrative_blocks,
    packs_of,
    pick,
    session_day,
)
from apps.briefings.services import GENERATORS, generate_morning_pack
from apps.core.actors import actor
from apps.core.page_cache import cached_page
from apps.core.permissions import role_required
from apps.core.roles import Role, has_role
from apps.marketdata.calendar import is_business_day, next_business_day, previous_business_day
from apps.positions import picker
from apps.positions.access import has_any_fund, visible
from apps.positions.models import Portfolio

FIRST_YEAR, LAST_YEAR = 1990, 2200


def _parse_day(raw: str) -> date | None:
    """An ISO date within the calendar's years (day links at the ends of `date` would fail)."""
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        return None
    return day if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR else None


def _portfolios(request: HttpRequest) -> tuple[Portfolio | None, list[Portfolio]]:
    """The user's active funds and the one asked for (a posted or `?portfolio=` code, else
    the remembered one, else the first); 404 for a fund the user may not see."""
    portfolios = list(visible(request.user, Portfolio.objects.active()))
    funds = [(p.pk, p.code) for p in portfolios]
    posted = request.POST.get("portfolio", "") if request.method == "POST" else ""
    if posted and posted not in {code for _, code in funds}:
        raise Http404(f"No active portfolio {posted!r}.")
    code = posted or picker.chosen_code(request, funds)
    chosen = next((p for p in portfolios if p.code == code), None)
    return chosen or (portfolios[0] if portfolios else None), portfolios


def _fund_query(portfolio: Portfolio | None, portfolios: list[Portfolio]) -> str:
    """`portfolio=code` for links, only when there is a choice of funds."""
    return f"portfolio={portfolio.code}" if portfolio and len(portfolios) > 1 else ""


def pack_context(
    request: HttpRequest,
    portfolio: Portfolio | None,
    portfolios: list[Portfolio],
    day: date,
    pack: MorningPack | None,
    versions: list[int],
) -> dict[str, Any]:
    """Everything the page and the print template show for one pack (or its empty state)."""
    morning = Morning(
        day=day,
        pack=pack,  # type: ignore[arg-type]  # the print template reads the same attributes
        versions=versions,
        facts=facts_view(pack.facts) if pack else None,
        blocks=narrative_blocks(pack.narrative) if pack else [],
    )
    return _context(portfolio, portfolios, morning, has_role(request.user, *GENERATORS))


def _context(
    portfolio: Portfolio | None, portfolios: list[Portfolio], morning: Morning, can_generate: bool
) -> dict[str, Any]:
    query = _fund_query(portfolio, portfolios)
    day = morning.day
    return {
        "portfolio": portfolio,
        "portfolios": portfolios,
        "portfolio_query": f"?{query}" if query else "",
        "day": day,
        "is_business_day": is_business_day(day),
        "previous_day": previous_business_day(day),
        "next_day": next_business_day(day),
        "session_day": session_day(),
        "pack": morning.pack,
        "versions": morning.versions,
        "facts": morning.facts,
        "blocks": morning.blocks,
        "can_generate": can_generate,
        # Whether the close it describes changed since (apps/core/staleness.py).
        "freshness": pack_freshness(morning.pack).as_dict() if morning.pack else {},
        "recompute_fields": [("portfolio", portfolio.code)] if portfolio else [],
    }


def _render(
    request: HttpRequest, day: date, *, latest: bool = False, status: int = 200, error: str = ""
) -> HttpResponse:
    funds, code = picker.pick(request)
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Morning pack")
    version = request.GET.get("v", "")
    can_generate = has_role(request.user, *GENERATORS)

    def build() -> tuple[dict[str, Any], str]:
        portfolio, portfolios = _portfolios(request)
        cached = (
            cached_morning(portfolio, day, latest=latest, version=version) if portfolio else None
        )
        morning = cached.value if cached else Morning(day)
        context = _context(portfolio, portfolios, morning, can_generate)
        context.update(is_latest_view=latest, error=error or morning.note)
        return context, cached.status if cached else "bypass"

    response = cached_page(
        request,
        name="morning",
        code=code,
        funds=funds,
        params={
            "portfolio": code,
            "view": "latest" if latest else day,
            "v": version,
            "session": session_day(),
            "generator": can_generate,
        },
        build=build,
        template="briefings/pack.html",
        title=_title,
        # Errors (404 pages, a `?v=` that is no number) and past days (history): not cached.
        bypass=status != 200
        or bool(error)
        or not (version == "" or version.isdigit())
        or (not latest and day < timezone.localdate()),
    )
    response.status_code = status
    return response


def _title(context: dict[str, Any]) -> str:
    pack, portfolio = context.get("pack"), context.get("portfolio")
    if not pack or portfolio is None:
        return "Morning pack"
    return f"Morning pack {context['day']:%d/%m/%Y} — {portfolio.name}"


def _bad_day(request: HttpRequest, raw: str) -> HttpResponse:
    """A 404 that says what was wrong with the date in the address."""
    error = (
        f"{raw!r} is not a date: the address takes YYYY-MM-DD (years {FIRST_YEAR}–{LAST_YEAR}), "
        "e.g. /morning/2025-05-02/."
    )
    return _render(request, session_day(), status=404, error=error)


@role_required(*Role.values)
def latest(request: HttpRequest) -> HttpResponse:
    """The newest pack of the fund; the date picker's `?date=` goes to that day's page."""
    if raw := request.GET.get("date", "").strip():
        if _parse_day(raw) is None:
            return _bad_day(request, raw)
        query = _fund_query(*_portfolios(request))
        return redirect(reverse("briefings:day", args=[raw]) + (f"?{query}" if query else ""))
    return _render(request, session_day(), latest=True)


@role_required(*Role.values)
def day(request: HttpRequest, day: str) -> HttpResponse:
    """One day's pack; `?v=N` picks a version (default the latest of that day)."""
    parsed = _parse_day(day)
    if parsed is None:
        return _bad_day(request, day)
    return _render(request, parsed)


@require_POST
def generate(request: HttpRequest, day: str) -> HttpResponse:
    """Generate (or regenerate: a new version of) the day's pack, then show it."""
    if not has_role(request.user, *GENERATORS):
        raise PermissionDenied("Only a manager, an approver or ops may generate the pack.")
    parsed = _parse_day(day)
    if parsed is None:
        return _bad_day(request, day)
    portfolio, portfolios = _portfolios(request)
    target = reverse("briefings:day", args=[parsed.isoformat()])
    query = _fund_query(portfolio, portfolios)
    if portfolio is None:
        messages.error(request, "There is no active portfolio to prepare a pack for.")
    else:
        try:
            pack = generate_morning_pack(
                portfolio, parsed, by=actor(request), language=request.POST.get("language") or None
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _generated_message(pack))
            target += f"?{query}&v={pack.version}" if query else f"?v={pack.version}"
    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _generated_message(pack: MorningPack) -> str:
    if pack.source == MorningPack.Source.LLM:
        return f"Version {pack.version} generated: the LLM narrative passed the grounding check."
    return f"Version {pack.version} generated with the template narrative."


@role_required(*Role.values)
def pack_pdf(request: HttpRequest, day: str) -> HttpResponse:
    """The pack as an A4 PDF (WeasyPrint); 503 with the fix when its libraries are missing."""
    parsed = _parse_day(day)
    if parsed is None:
        return _bad_day(request, day)
    portfolio, portfolios = _portfolios(request)
    pack, versions, _ = pick(packs_of(portfolio), parsed, request.GET.get("v", ""))
    if pack is None:
        error = f"There is no morning pack for {parsed:%d/%m/%Y} to print."
        return _render(request, parsed, status=404, error=error)
    context = pack_context(request, portfolio, portfolios, parsed, pack, versions)
    context["stylesheets"] = pdf.stylesheets()
    html = render_to_string("briefings/pack_print.html", context, request=request)
    try:
        data = pdf.html_to_pdf(html)
    except pdf.PdfUnavailable as error:
        back_url = reverse("briefings:day", args=[parsed.isoformat()])
        context = {"error": error, "back_url": back_url}
        return render(request, "briefings/pdf_unavailable.html", context, status=503)
    name = f"morning-pack-{pack.portfolio.code}-{pack.business_date:%Y-%m-%d}-v{pack.version}.pdf"
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
