"""The journal page: newest first, filters (htmx), bad filters, chain verification, notes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse

from apps.journal.models import Entry, EntryKind
from apps.journal.services import record
from apps.marketdata.tests.factories import InstrumentFactory
from apps.positions.models import Position
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.proposals.services import Terms, create_proposal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _trading_morning() -> None:
    """The journal's tests keep the real clock (not the blotter's morning in conftest)."""


URL = reverse("journal:list")
HTMX = {"HTTP_HX_REQUEST": "true"}
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def fund() -> Any:
    return PortfolioFactory.create(code="macro", name="Macro FIM")


def _write(kind: str = EntryKind.NOTE, note: str = "note", **kw: Any) -> Entry:
    with transaction.atomic():
        return record(kind=kind, note=note, **kw)


def _seqs(response: Any) -> list[int]:
    content = response.content.decode()
    return [int(chunk.split('"')[0]) for chunk in content.split('data-seq="')[1:]]


def test_entries_newest_first_with_hash_actor_and_links(client, fund, pm_alice) -> None:
    with time_machine.travel(datetime(2025, 2, 4, 9, 30, 15, tzinfo=SAO_PAULO), tick=False):
        first = _write(actor=pm_alice, portfolio=fund, note="Opening thoughts.")
    second = _write(EntryKind.MTM_RUN, note="", portfolio=fund, snapshot={"nav": "100.00"})
    client.force_login(pm_alice)
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert _seqs(response) == [second.seq, first.seq]
    assert f">{first.hash[:12]}</code>" in content  # the full hash only as a tooltip
    assert "04/02/2025 09:30:15" in content  # São Paulo time
    assert "Alice Manager" in content
    assert '<span class="muted">system</span>' in content
    assert "snapshot (1 field)" in content
    assert "<dt>nav</dt><dd>100.00</dd>" in content


def test_filters_narrow_the_table_and_htmx_gets_only_the_table(client, fund, pm_alice) -> None:
    other = PortfolioFactory.create(code="fx", name="FX fund")
    strategy = StrategyFactory.create(portfolio=fund)
    position = Position.objects.create(
        portfolio=fund, strategy=strategy, instrument=InstrumentFactory.create(ticker="DI1F30")
    )
    mine = _write(actor=pm_alice, portfolio=fund, note="mine")
    system = _write(EntryKind.MTM_RUN, note="", portfolio=other)
    about_position = _write(actor=pm_alice, portfolio=fund, position=position, note="pos")
    client.force_login(pm_alice)

    assert _seqs(client.get(URL, {"kind": "MTM_RUN"})) == [system.seq]
    assert _seqs(client.get(URL, {"portfolio": "macro"})) == [about_position.seq, mine.seq]
    assert _seqs(client.get(URL, {"actor": "system"})) == [system.seq]
    assert _seqs(client.get(URL, {"actor": "pm_alice"})) == [about_position.seq, mine.seq]
    assert _seqs(client.get(URL, {"position": position.pk})) == [about_position.seq]
    partial = client.get(URL, {"kind": "NOTE"}, **HTMX)
    assert b"<html" not in partial.content
    assert partial.content.lstrip().startswith(b'<div id="journal-table">')
    assert _seqs(partial) == [about_position.seq, mine.seq]


def test_filter_by_proposal(client, fund, pm_alice, cio_bob) -> None:
    with time_machine.travel(datetime(2025, 2, 4, 10, 0, tzinfo=SAO_PAULO)):
        proposal = create_proposal(
            portfolio=fund,
            strategy=StrategyFactory.create(portfolio=fund),
            instrument=InstrumentFactory.create(equity=True, ticker="VALE3"),
            terms=Terms("BUY", Decimal("100")),
            rationale="Iron ore up.",
            business_date=date(2025, 2, 4),
            by=pm_alice,
        )
    _write(actor=pm_alice, note="unrelated", on_date=date(2025, 2, 4))
    client.force_login(cio_bob)
    response = client.get(URL, {"proposal": proposal.pk})
    entries = Entry.objects.filter(proposal_id=proposal.pk).order_by("-seq")
    assert _seqs(response) == [e.seq for e in entries]
    assert f'href="/blotter/{proposal.pk}/"'.encode() in response.content


def test_date_range_is_in_sao_paulo_days(client, pm_alice) -> None:
    # 23:30 in São Paulo on the 3rd is already the 4th in UTC: it belongs to the 3rd.
    with time_machine.travel(datetime(2025, 2, 3, 23, 30, tzinfo=SAO_PAULO), tick=False):
        late = _write(actor=pm_alice, on_date=date(2025, 2, 3))
    with time_machine.travel(datetime(2025, 2, 5, 8, 0, tzinfo=SAO_PAULO), tick=False):
        later = _write(actor=pm_alice, on_date=date(2025, 2, 5))
    client.force_login(pm_alice)
    only_3rd = client.get(URL, {"date_from": "2025-02-03", "date_to": "2025-02-03"})
    assert _seqs(only_3rd) == [late.seq]
    assert _seqs(client.get(URL, {"date_from": "2025-02-04"})) == [later.seq]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "yesterday"}, "Written from: enter a date as yyyy-mm-dd."),
        ({"position": "abc"}, "Position must be a whole number (an id)."),
        ({"proposal": "1.5"}, "Proposal must be a whole number (an id)."),
        ({"kind": "GOSSIP"}, "Select a valid choice."),
        (
            {"date_from": "2025-02-05", "date_to": "2025-02-01"},
            "The end date is before the start date.",
        ),
    ],
)
def test_a_bad_filter_is_a_message_not_a_500(client, pm_alice, params, message) -> None:
    kept = _write(actor=pm_alice, note="still listed")
    client.force_login(pm_alice)
    response = client.get(URL, params)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Some filters were ignored" in content
    assert message in content
    assert kept.seq in _seqs(response)


def test_a_valid_filter_still_applies_next_to_a_bad_one(client, pm_alice) -> None:
    note = _write(actor=pm_alice)
    _write(EntryKind.MTM_RUN, note="")
    client.force_login(pm_alice)
    response = client.get(URL, {"kind": "NOTE", "position": "x"})
    assert _seqs(response) == [note.seq]


def test_fifty_entries_a_page(client, pm_alice) -> None:
    written = [_write(actor=pm_alice, note=f"n{i}") for i in range(55)]
    client.force_login(pm_alice)
    first = client.get(URL)
    assert _seqs(first) == [e.seq for e in reversed(written)][:50]
    assert b"page 1 of 2" in first.content
    second = client.get(URL, {"page": 2}, **HTMX)
    assert _seqs(second) == [e.seq for e in reversed(written)][50:]


def test_verify_button_returns_the_badge(client, pm_alice) -> None:
    _write(actor=pm_alice)
    _write(actor=pm_alice)
    client.force_login(pm_alice)
    page = client.get(URL).content.decode()
    assert 'data-testid="verify-chain"' in page
    assert "chain intact" not in page  # not verified on every view
    badge = client.get(URL, {"verify": "1"}, **HTMX)
    assert badge.content.decode().strip().startswith('<span id="chain-badge">')
    assert "chain intact ✓" in badge.content.decode()


def test_a_broken_chain_is_named(client, pm_alice) -> None:
    entries = [_write(actor=pm_alice, note=f"n{i}") for i in range(3)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser past the append-only trigger
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE journal_entry SET note = 'forged' WHERE id = %s", [entries[1].pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
    client.force_login(pm_alice)
    badge = client.get(URL, {"verify": "1"}, **HTMX).content.decode()
    assert f"chain BROKEN at #{entries[1].seq}" in badge
    full_page = client.get(URL, {"verify": "1"}).content.decode()
    assert f"chain BROKEN at #{entries[1].seq}" in full_page


def test_add_a_note_about_a_day(client, fund, pm_alice) -> None:
    client.force_login(pm_alice)
    url = reverse("journal:add_note")
    response = client.post(
        url, {"note": "Copom day: stay small.", "on_date": "2025-02-04", "portfolio": "macro"}
    )
    assert response.status_code == 302
    note = Entry.objects.get(kind=EntryKind.NOTE)
    assert (note.actor, note.on_date, note.portfolio_id, note.note) == (
        pm_alice,
        date(2025, 2, 4),
        fund.pk,
        "Copom day: stay small.",
    )


def test_a_note_needs_text_and_a_subject(client, pm_alice) -> None:
    client.force_login(pm_alice)
    url = reverse("journal:add_note")
    empty = client.post(url, {"note": " ", "on_date": "2025-02-04"})
    assert b"an empty note is not recorded" in empty.content
    aimless = client.post(url, {"note": "Something."})
    assert b"A note is about a position, a proposal or a day." in aimless.content
    unknown = client.post(url, {"note": "Something.", "position": "999"})
    assert b"There is no position #999." in unknown.content
    assert not Entry.objects.exists()


def test_a_viewer_reads_but_cannot_write(client, pm_alice, viewer_dan) -> None:
    _write(actor=pm_alice, note="visible to all")
    client.force_login(viewer_dan)
    page = client.get(URL).content.decode()
    assert "visible to all" in page
    assert "Add a note" not in page
    response = client.post(reverse("journal:add_note"), {"note": "x", "on_date": "2025-02-04"})
    assert response.status_code == 403
    assert Entry.objects.count() == 1


def test_a_user_without_a_role_is_refused(client, pm_alice) -> None:
    from django.contrib.auth.models import User

    _write(actor=pm_alice)
    client.force_login(User.objects.create_user("stranger", password="x" * 12))
    assert client.get(URL).status_code == 403
