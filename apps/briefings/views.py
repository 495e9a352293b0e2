"""The morning pack page: the latest or a dated pack, its versions, generation and the PDF."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.briefings import pdf
from apps.briefings.models import MorningPack
from apps.briefings.services import GENERATORS, generate_morning_pack
from apps.marketdata.calendar import is_business_day, next_business_day, previous_business_day
from apps.ops.roles import Role, has_role
from apps.positions.models import Portfolio

FIRST_YEAR, LAST_YEAR = 1990, 2200
# "Mercado: …" — a section label (letters only, no digits) opening a narrative line.
LABELLED = re.compile(r"^(?P<label>[^\W\d_][^:\d]{1,38}):\s+(?P<text>.+)$")


@dataclass
class Block:
    """A piece of the narrative: a heading, a paragraph (maybe labelled) or a bullet list."""

    kind: str  # "h", "p" or "ul"
    text: str = ""
    label: str = ""
    items: list[str] = field(default_factory=list)


def narrative_blocks(text: str) -> list[Block]:
    """Lines → headings, labelled paragraphs and bullet lists (an LLM's light Markdown too)."""
    blocks: list[Block] = []
    for raw in text.splitlines():
        line = raw.replace("**", "").strip()
        if not line:
            continue
        if line.startswith("#"):
            blocks.append(Block("h", line.lstrip("#").strip()))
        elif line[:2] in ("- ", "* ", "• "):
            if not blocks or blocks[-1].kind != "ul":
                blocks.append(Block("ul"))
            blocks[-1].items.append(line[2:].strip())
        elif match := LABELLED.match(line):
            blocks.append(Block("p", match["text"], label=match["label"]))
        else:
            blocks.append(Block("p", line))
    return blocks


def _may_view(request: HttpRequest) -> None:
    if not has_role(request.user, *Role.values):
        raise PermissionDenied("Your role does not open this page.")


def _parse_day(raw: str) -> date | None:
    """An ISO date within the calendar's years (day links at the ends of `date` would fail)."""
    try:
        day = date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
    except ValueError:
        return None
    return day if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR else None


def _session_day() -> date:
    """The session a pack generated now prepares: today, or the next business day."""
    today = timezone.localdate()
    return today if is_business_day(today) else next_business_day(today)


def _portfolios(request: HttpRequest) -> tuple[Portfolio | None, list[Portfolio]]:
    portfolios = list(Portfolio.objects.active())
    code = request.GET.get("portfolio") or request.POST.get("portfolio", "")
    chosen = next((p for p in portfolios if p.code == code), None)
    return chosen or (portfolios[0] if portfolios else None), portfolios


def _fund_query(portfolio: Portfolio | None, portfolios: list[Portfolio]) -> str:
    """`portfolio=code` for links, only when there is a choice of funds."""
    return f"portfolio={portfolio.code}" if portfolio and len(portfolios) > 1 else ""


def _packs(portfolio: Portfolio | None) -> QuerySet[MorningPack]:
    rows = MorningPack.objects.select_related("portfolio", "created_by")
    return rows.filter(portfolio=portfolio) if portfolio else rows.none()


def _iso(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _blotter_url(pk: Any) -> str:
    try:
        return reverse("proposals:detail", args=[pk])
    except NoReverseMatch:
        return ""


def facts_view(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts as the panels show them: dates parsed, proposals linked to the blotter."""
    market = facts.get("market") or {}
    ipca_month = (market.get("ipca") or {}).get("month")
    return {
        "asof": _iso(facts.get("asof")),
        "market": market,
        "market_asof": _iso(market.get("asof")),
        "market_previous": _iso(market.get("previous")),
        "ipca_month": _iso(f"{ipca_month}-01") if ipca_month else None,
        "book": facts.get("book") or {},
        "risk": facts.get("risk") or {},
        "risk_snapshot": _iso((facts.get("risk") or {}).get("snapshot")),
        "proposals": [
            {**p, "url": _blotter_url(p.get("id"))} for p in facts.get("proposals") or []
        ],
        "calendar": [{**e, "date": _iso(e.get("date"))} for e in facts.get("calendar") or []],
        "expiries": [
            {**x, "maturity": _iso(x.get("maturity"))} for x in facts.get("expiries") or []
        ],
        "quality": facts.get("data_quality") or [],
    }


def _pick(packs: QuerySet[MorningPack], day: date, raw_version: str) -> tuple[Any, list[int], str]:
    """(the pack shown, every version of the day, a message when `?v=` was not usable)."""
    of_day = {p.version: p for p in packs.filter(business_date=day)}
    versions = sorted(of_day)
    if not versions:
        return None, [], ""
    if raw_version:
        wanted = int(raw_version) if raw_version.isdigit() else None
        if wanted in of_day:
            return of_day[wanted], versions, ""
        note = f"There is no version {raw_version!r} of this pack; showing the latest."
        return of_day[versions[-1]], versions, note
    return of_day[versions[-1]], versions, ""


def pack_context(
    request: HttpRequest,
    portfolio: Portfolio | None,
    portfolios: list[Portfolio],
    day: date,
    pack: MorningPack | None,
    versions: list[int],
) -> dict[str, Any]:
    """Everything the page and the print template show for one pack (or its empty state)."""
    query = _fund_query(portfolio, portfolios)
    return {
        "portfolio": portfolio,
        "portfolios": portfolios,
        "portfolio_query": f"?{query}" if query else "",
        "day": day,
        "is_business_day": is_business_day(day),
        "previous_day": previous_business_day(day),
        "next_day": next_business_day(day),
        "session_day": _session_day(),
        "pack": pack,
        "versions": versions,
        "facts": facts_view(pack.facts) if pack else None,
        "blocks": narrative_blocks(pack.narrative) if pack else [],
        "can_generate": has_role(request.user, *GENERATORS),
    }


def _render(
    request: HttpRequest, day: date, *, latest: bool = False, status: int = 200, error: str = ""
) -> HttpResponse:
    portfolio, portfolios = _portfolios(request)
    packs = _packs(portfolio)
    if latest and (newest := packs.first()) is not None:
        day = newest.business_date
    pack, versions, note = _pick(packs, day, request.GET.get("v", ""))
    context = pack_context(request, portfolio, portfolios, day, pack, versions)
    context.update(is_latest_view=latest, error=error or note)
    return render(request, "briefings/pack.html", context, status=status)


def _bad_day(request: HttpRequest, raw: str) -> HttpResponse:
    """A 404 that says what was wrong with the date in the address."""
    error = (
        f"{raw!r} is not a date: the address takes YYYY-MM-DD (years {FIRST_YEAR}–{LAST_YEAR}), "
        "e.g. /morning/2025-05-02/."
    )
    return _render(request, _session_day(), status=404, error=error)


def latest(request: HttpRequest) -> HttpResponse:
    """The newest pack of the fund; the date picker's `?date=` goes to that day's page."""
    _may_view(request)
    if raw := request.GET.get("date", "").strip():
        if _parse_day(raw) is None:
            return _bad_day(request, raw)
        query = _fund_query(*_portfolios(request))
        return redirect(reverse("briefings:day", args=[raw]) + (f"?{query}" if query else ""))
    return _render(request, _session_day(), latest=True)


def day(request: HttpRequest, day: str) -> HttpResponse:
    """One day's pack; `?v=N` picks a version (default the latest of that day)."""
    _may_view(request)
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
                portfolio, parsed, by=request.user, language=request.POST.get("language") or None
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


def pack_pdf(request: HttpRequest, day: str) -> HttpResponse:
    """The pack as an A4 PDF (WeasyPrint); 503 with the fix when its libraries are missing."""
    _may_view(request)
    parsed = _parse_day(day)
    if parsed is None:
        return _bad_day(request, day)
    portfolio, portfolios = _portfolios(request)
    pack, versions, _ = _pick(_packs(portfolio), parsed, request.GET.get("v", ""))
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
