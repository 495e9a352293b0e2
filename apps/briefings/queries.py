"""The morning pack page's read model: the pack of a day (a version of it), shaped for the page.

Packs are stored documents (facts + narrative, every generation kept): the read model only picks
the version, parses the narrative into blocks and the facts' dates, and names the author — plain
data, cached per portfolio and data version. A new pack bumps the portfolio's version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.briefings.models import MorningPack
from apps.core.cache import Cached, breaker, read, warmer
from apps.marketdata.calendar import is_business_day, next_business_day
from apps.positions.models import Portfolio

# "Mercado: …" — a section label (letters only, no digits) opening a narrative line.
LABELLED = re.compile(r"^(?P<label>[^\W\d_][^:\d]{1,38}):\s+(?P<text>.+)$")


@dataclass
class Block:
    """A piece of the narrative: a heading, a paragraph (maybe labelled) or a bullet list."""

    kind: str  # "h", "p" or "ul"
    text: str = ""
    label: str = ""
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    """Who generated a pack: a name, never the user row."""

    username: str
    full_name: str

    def get_full_name(self) -> str:
        return self.full_name


@dataclass(frozen=True)
class PackSummary:
    """A stored pack as the page shows it (the attributes the templates read)."""

    pk: int
    business_date: date
    version: int
    source: str
    model: str
    language: str
    rejection_reason: str
    created_at: datetime
    created_by: Person | None
    journal_seq: int | None = None  # the journal head the pack anchored (14 §4.2)
    journal_hash: str = ""
    portfolio_id: int = 0
    basis: dict[str, int] = field(default_factory=dict)  # what it was computed on (staleness)


@dataclass(frozen=True)
class Morning:
    """The pack shown for a day, every version of that day, and the pack's panels."""

    day: date
    pack: PackSummary | None = None
    versions: list[int] = field(default_factory=list)
    note: str = ""  # when `?v=` named no version of the day
    facts: dict[str, Any] | None = None
    blocks: list[Block] = field(default_factory=list)


def session_day() -> date:
    """The session a pack generated now prepares: today, or the next business day."""
    today = timezone.localdate()
    return today if is_business_day(today) else next_business_day(today)


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


def packs_of(portfolio: Portfolio | None) -> QuerySet[MorningPack]:
    rows = MorningPack.objects.select_related("portfolio", "created_by")
    return rows.filter(portfolio=portfolio) if portfolio else rows.none()


def pick(packs: QuerySet[MorningPack], day: date, raw_version: str) -> tuple[Any, list[int], str]:
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


def build_morning(
    portfolio: Portfolio, day: date, *, latest: bool = False, version: str = ""
) -> Morning:
    """The pack of `day` (`latest`: of the newest pack's day, else `day`), version `version`."""
    packs = packs_of(portfolio)
    if latest and (newest := packs.first()) is not None:
        day = newest.business_date
    pack, versions, note = pick(packs, day, version)
    if pack is None:
        return Morning(day, versions=versions, note=note)
    return Morning(
        day=day,
        pack=summary(pack),
        versions=versions,
        note=note,
        facts=facts_view(pack.facts),
        blocks=narrative_blocks(pack.narrative),
    )


def summary(pack: MorningPack) -> PackSummary:
    who = pack.created_by
    return PackSummary(
        pk=pack.pk,
        business_date=pack.business_date,
        version=pack.version,
        source=pack.source,
        model=pack.model,
        language=pack.language,
        rejection_reason=pack.rejection_reason,
        created_at=pack.created_at,
        created_by=Person(who.username, who.get_full_name()) if who else None,
        journal_seq=pack.journal_seq,
        journal_hash=pack.journal_hash,
        portfolio_id=pack.portfolio_id,
        basis=pack.basis,
    )


# --- the cached read: rm:morning:<portfolio>:m<market v>:p<portfolio v>:<view>|<day>|<v> ------


def cached_morning(
    portfolio: Portfolio, day: date, *, latest: bool = False, version: str = ""
) -> Cached:
    """`build_morning` cache-first for the latest pack and today's or later days; packs of
    past days (history), a `version` that is no number and reads inside a transaction bypass
    the cache."""
    history = not latest and day < timezone.localdate()
    odd = not (version == "" or version.isdigit())
    return read(
        "morning",
        portfolio.pk,
        lambda: build_morning(portfolio, day, latest=latest, version=version),
        params=f"{'latest' if latest else 'day'}|{day.isoformat()}|{version}",
        bypass=connection.in_atomic_block or history or odd,
    )


@warmer("morning")
def warm_morning(portfolio: Portfolio) -> None:
    """The latest pack (the page's default) into the cache."""
    if not breaker.is_open:
        cached_morning(portfolio, session_day(), latest=True)
