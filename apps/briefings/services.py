"""Generating a morning pack: facts → narrative (grounded LLM or template) → stored version."""

from __future__ import annotations

import time
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max

from apps.briefings.facts import FACTS_VERSION, build_facts
from apps.briefings.models import MorningPack
from apps.briefings.narrative import MessagesClient, write_narrative
from apps.core.roles import Role, has_role
from apps.core.staleness import basis_now
from apps.journal.anchors import stamp as anchor_journal
from apps.journal.models import EntryKind
from apps.journal.services import record as journal
from apps.marketdata.calendar import is_business_day
from apps.positions.models import Portfolio

if TYPE_CHECKING:
    from django.contrib.auth.models import User

GENERATORS = (Role.MANAGER, Role.APPROVER, Role.OPS)


def generate_morning_pack(
    portfolio: Portfolio,
    day: date,
    *,
    by: User | None = None,
    client: MessagesClient | None = None,
    language: str | None = None,
) -> MorningPack:
    """A new version of `day`'s pack (the LLM call happens outside the database transaction)."""
    if by is not None and not has_role(by, *GENERATORS):
        raise PermissionDenied("Only a manager, an approver or ops may generate the pack.")
    if not 1990 <= day.year <= 2200:
        raise ValidationError(f"{day:%Y-%m-%d} is outside the calendar (1990–2200).")
    if not is_business_day(day):
        raise ValidationError(f"{day:%Y-%m-%d} is not an ANBIMA business day.")
    language = language or settings.MORNING_PACK_LANGUAGE
    started = time.perf_counter()
    basis = basis_now(portfolio.pk)  # before the inputs: a write after shows as newer
    facts = build_facts(portfolio, day)
    facts_ms = int((time.perf_counter() - started) * 1000)
    narrative = write_narrative(facts, language=language, client=client)
    pack = _store(portfolio, day, facts, narrative, language, by, facts_ms, basis.as_dict())
    if settings.MORNING_PACK_EMAIL:
        _email(pack)
    return pack


@transaction.atomic
def _store(
    portfolio: Portfolio,
    day: date,
    facts: dict[str, Any],
    narrative: Any,
    language: str,
    by: User | None,
    facts_ms: int,
    basis: dict[str, int],
) -> MorningPack:
    latest = MorningPack.objects.select_for_update().filter(portfolio=portfolio, business_date=day)
    version = (latest.aggregate(v=Max("version"))["v"] or 0) + 1
    pack = MorningPack.objects.create(
        portfolio=portfolio,
        business_date=day,
        version=version,
        facts_version=FACTS_VERSION,
        facts=facts,
        narrative=narrative.text,
        source=narrative.source,
        language=language,
        model=narrative.model,
        prompt_hash=narrative.prompt_hash,
        rejection_reason=narrative.rejection_reason,
        timings={"facts_ms": facts_ms, "llm_ms": narrative.llm_ms},
        created_by=by,
        basis=basis,
    )
    entry = journal(
        kind=EntryKind.MORNING_PACK,
        actor=by,
        portfolio=portfolio,
        on_date=day,
        snapshot={
            "version": version,
            "source": pack.source,
            "model": pack.model,
            "prompt_hash": pack.prompt_hash,
            "rejection_reason": pack.rejection_reason,
        },
    )
    anchor_journal(pack, entry)  # the head, printed on the pack's page and PDF
    return pack


def _email(pack: MorningPack) -> None:
    """Send the narrative to the managers (Django e-mail backend; failures are logged)."""
    managers = get_user_model().objects.filter(groups__name=Role.MANAGER, is_active=True)
    recipients = [u.email for u in managers if u.email]
    if not recipients:
        return
    subject = f"Morning pack {pack.business_date:%d/%m/%Y} — {pack.portfolio}"
    send_mail(subject, pack.narrative, None, recipients, fail_silently=True)
