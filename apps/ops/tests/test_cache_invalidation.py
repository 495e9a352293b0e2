"""The cached read models and pages: miss, hit, and a committed write seen on the next read.

Transactional tests (`transaction=True`): the cache is only read and filled outside a
transaction, and the write-through refresh runs on commit. The fund and its read-model cache
are conftest.py's `fund` and `read_cache`: the cache gets its own key prefix (and, on Redis, a
database no other test flushes), so parallel workers never share entries. Today is the
morning of 6 Feb 2025: the book is marked through 5 Feb, the pack of 6 Feb is out.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.signals import template_rendered
from pytest_django import DjangoAssertNumQueries, Settings

from apps.core import cache as read_cache_module
from apps.core.cache import MISSING, cache_get, key_for
from apps.core.models import RefreshRequest
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_pipeline
from apps.ops.tests.support import (
    D1,
    D2,
    D3,
    D4,
    MORNING,
    PAGES,
    get,
    pending,
    propose_two_more,
    remark_trade,
    republish_settlement,
    statuses,
    versions,
)
from tests.support import Book

pytestmark = pytest.mark.django_db(transaction=True)


def stored_keys() -> set[str]:
    """The read-model keys in the cache (without the backend's prefix and version)."""
    backend = caches["readmodels"]
    if hasattr(backend, "keys"):  # django-redis
        return set(backend.keys("rm:*"))
    assert isinstance(backend, LocMemCache), backend
    # django-stubs leave out LocMemCache's private store; no public API lists its keys.
    return {key.split(":", 2)[2] for key in backend._cache}  # type: ignore[attr-defined]


def page_keys() -> set[str]:
    """The read models and page bodies stored (not the funds' directory or the banner's runs,
    which every page reads)."""
    return {k for k in stored_keys() if not k.startswith(("rm:funds:", "rm:failures:"))}


# --- miss, hit ------------------------------------------------------------------------------


def test_the_first_read_misses_and_the_second_hits(fund: Book, alice: Client) -> None:
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")
    second = get(alice, "book", fund)
    assert second["X-Cache-Detail"] == "page=hit; data=-"
    keys = stored_keys()
    pk = fund.portfolio.pk
    for page in PAGES:
        assert any(k.startswith(f"rm:{page}:{pk}:") for k in keys), page  # the read model
        assert any(k.startswith(f"rm:{page}:html:{pk}:") for k in keys), page  # the page
    # The page is the same, hit or miss, and carries this session's CSRF token.
    body = second.content.decode()
    assert "Book · " in body and 'data-testid="position-row"' in body
    assert alice.cookies["csrftoken"].value
    assert '"X-CSRFToken": "' in body  # the frame's, for htmx and static/js/csrf.js


def test_history_bypasses_the_cache(fund: Book, alice: Client) -> None:
    for page, query in (("book", f"&date={D1}"), ("risk", f"&date={D1}")):
        response = get(alice, page, fund, query)
        assert response["X-Cache"] == "bypass"
    custom = get(alice, "attribution", fund, f"&start={D1}&end={D2}")
    assert custom["X-Cache"] == "bypass"
    assert not page_keys()
    # Nor are the answers to mistyped addresses (any text would make a new entry).
    assert get(alice, "book", fund, "&date=yesterday")["X-Cache"] == "bypass"
    assert get(alice, "morning", fund, "&v=latest")["X-Cache"] == "bypass"
    assert get(alice, "attribution", fund, "&period=decade")["X-Cache"] == "bypass"
    assert not any(":html:" in key or "latest|" in key for key in stored_keys())


def test_the_htmx_fragment_is_cached_apart_from_the_page(fund: Book, alice: Client) -> None:
    page = get(alice, "book", fund)
    fragment = alice.get(f"/book/?portfolio={fund.portfolio.code}", HTTP_HX_REQUEST="true")
    assert (page["X-Cache"], fragment["X-Cache"]) == ("miss", "hit")  # the read model hit
    assert fragment["X-Cache-Detail"] == "page=miss; data=hit"
    assert "<html" not in fragment.content.decode()
    again = alice.get(f"/book/?portfolio={fund.portfolio.code}", HTTP_HX_REQUEST="true")
    assert again["X-Cache-Detail"] == "page=hit; data=-"
    assert "Vary" in again and "HX-Request" in again["Vary"]


def test_no_user_sees_another_users_name_token_or_rights(
    fund: Book, alice: Client, viewer_dan: User
) -> None:
    """The cached body has no per-user content: the user box, the CSRF token and the nonce are
    the frame's, rendered for the reader; a viewer does not get the manager's buttons from the
    cache."""
    get(alice, "risk", fund)  # cached with the manager's rights (acknowledge forms)
    dan = Client()
    dan.force_login(viewer_dan)
    body = get(dan, "risk", fund).content.decode()
    assert 'data-testid="ack-form"' not in body and "Dan" in body and "Alice" not in body
    managers = get(alice, "risk", fund)
    assert managers["X-Cache"] == "hit"
    html = managers.content.decode()
    assert 'data-testid="ack-form"' in html
    token = alice.cookies["csrftoken"].value
    assert token and dan.cookies["csrftoken"].value != token
    # The shared body holds no token and no inline script: both are the frame's.
    body = html.split('<main class="page">')[1]
    assert 'name="csrfmiddlewaretoken"' not in body and "<script nonce" not in html
    assert '<body hx-headers=\'{"X-CSRFToken": "' in html
    # The nonce of this response's CSP header is the one htmx gives swapped-in scripts.
    nonce = managers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'"inlineScriptNonce": "{nonce}"' in html


# --- a committed write is seen on the next read -----------------------------------------------


def test_a_trade_is_seen_on_every_page_on_the_next_read(fund: Book, alice: Client) -> None:
    statuses(alice, fund)
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")
    before = versions()[f"portfolio:{fund.portfolio.pk}"]

    remark_trade(fund, "5")

    assert versions()[f"portfolio:{fund.portfolio.pk}"] > before
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")
    book = get(alice, "book", fund)
    assert book["X-Cache"] == "hit"
    assert book.content.decode().count(">15<") == 1  # the new quantity (10 + 5)


def test_a_price_override_is_seen_on_the_next_read(
    fund: Book, alice: Client, bo_carol: User
) -> None:
    statuses(alice, fund)
    market = versions()["market"]
    republish_settlement(bo_carol)
    assert versions()["market"] > market
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")


def test_a_proposal_decision_is_seen_on_the_next_read(
    fund: Book, alice: Client, cio_bob: User, pm_alice: User
) -> None:
    from apps.proposals.models import ProposalStatus
    from apps.proposals.services import approve_proposal

    proposal = propose_two_more(fund, D4, by=pm_alice)
    statuses(alice, fund)
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")
    approve_proposal(proposal, by=cio_bob, note="Agreed.", override_note="Risk accepts it.")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")


def test_an_alert_acknowledgement_is_seen_on_the_risk_page(fund: Book, alice: Client) -> None:
    from apps.risk.models import Alert

    alert = Alert.objects.get(portfolio=fund.portfolio)  # one, open while the limit is breached
    assert 'data-testid="ack-form"' in get(alice, "risk", fund).content.decode()
    assert get(alice, "risk", fund)["X-Cache"] == "hit"

    response = alice.post(f"/risk/alerts/{alert.pk}/acknowledge/", {"note": "Cutting it."})
    assert response.status_code == 302

    page = get(alice, "risk", fund)
    assert page["X-Cache"] == "miss"
    html = page.content.decode()
    assert "Cutting it." in html and 'data-testid="ack-form"' not in html
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.ACKNOWLEDGED


def test_a_new_pack_is_seen_on_the_morning_page(fund: Book, alice: Client) -> None:
    from apps.briefings.services import generate_morning_pack

    assert ">1 of 1<" in get(alice, "morning", fund).content.decode()
    assert get(alice, "morning", fund)["X-Cache"] == "hit"
    generate_morning_pack(fund.portfolio, D4)
    page = get(alice, "morning", fund)
    assert page["X-Cache"] == "miss"
    assert ">2 of 2<" in page.content.decode()


def test_write_through_refreshes_the_read_models_on_commit(
    fund: Book, alice: Client, settings: Settings
) -> None:
    """With the refresh on (the default), the next read after a write finds the new read
    model already built: the page is rendered again, nothing is built from the database."""
    settings.CACHE_WRITE_THROUGH = True
    statuses(alice, fund)
    remark_trade(fund, "5")
    for page in PAGES:
        response = get(alice, page, fund)
        assert response["X-Cache-Detail"] == "page=miss; data=hit", page
    assert get(alice, "book", fund).content.decode().count(">15<") == 1


# --- transactions ---------------------------------------------------------------------------


def test_a_write_in_an_open_transaction_touches_no_cache_until_commit(
    fund: Book, alice: Client, settings: Settings
) -> None:
    settings.CACHE_WRITE_THROUGH = True
    statuses(alice, fund)
    keys, before = stored_keys(), versions()
    scope = f"portfolio:{fund.portfolio.pk}"
    with transaction.atomic():
        remark_trade(fund, "5")
        assert versions()[scope] > before[scope]  # inside: bumped
        assert stored_keys() == keys  # no refresh yet
    after = versions()
    assert after[scope] > before[scope]
    assert not RefreshRequest.objects.exists()  # the task claimed the request
    refreshed = stored_keys() - keys
    pk = fund.portfolio.pk
    # Every read model rebuilt (the book's intraday estimate too: D4 is one step from D3),
    # and what the intraday risk keeps for its next run (its close's history, revaluations).
    kept = {"intraday-memo", "whatif-history"}
    assert {k.split(":")[1] for k in refreshed} - kept == {*PAGES, "intraday"}
    models = [k for k in refreshed if k.split(":")[1] not in kept]
    assert all(f":{pk}:" in k and f":p{after[scope]}:" in k for k in models)


def test_a_transaction_schedules_one_refresh_per_scope(
    fund: Book, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many writes in one transaction (an import, a seed) ask for each scope's refresh once
    (one outbox row) and publish one task per scope on commit, none before; a rolled-back
    savepoint takes its request with it; a later write while the request is still pending
    joins it instead of queuing a second task."""
    from apps.core.cache import bump

    settings.CACHE_WRITE_THROUGH = True
    published: list[str] = []
    monkeypatch.setattr(read_cache_module, "publish_refresh", published.append)
    own = f"portfolio:{fund.portfolio.pk}"

    with transaction.atomic():
        for _ in range(3):
            bump(fund.portfolio.pk)
        assert pending() == {own: 3}
        try:
            with transaction.atomic():
                bump(None)
                assert pending() == {own: 3, "market": 1}
                raise RuntimeError
        except RuntimeError:
            pass
        assert pending() == {own: 3}
        bump(None)
        bump(fund.portfolio.pk)
        assert published == []  # nothing leaves before the commit
    assert published == [own, "market"]
    bump(fund.portfolio.pk)  # its task has not run yet: it covers this write too
    assert published == [own, "market"]
    assert pending() == {own: 5, "market": 1}


def test_a_rolled_back_write_touches_nothing(fund: Book, alice: Client, settings: Settings) -> None:
    settings.CACHE_WRITE_THROUGH = True
    statuses(alice, fund)
    keys, before = stored_keys(), versions()
    with transaction.atomic():
        remark_trade(fund, "5")
        # A read inside the transaction neither reads nor fills the cache.
        inside = get(alice, "book", fund)
        assert inside["X-Cache"] == "bypass" and inside.content.decode().count(">15<") == 1
        transaction.set_rollback(True)
    assert versions() == before
    assert stored_keys() == keys
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "hit")
    assert get(alice, "book", fund).content.decode().count(">15<") == 0


# --- bulk writes ----------------------------------------------------------------------------


def test_the_mtm_bulk_write_invalidates(fund: Book, alice: Client) -> None:
    from apps.positions.mtm import run_mtm

    statuses(alice, fund)
    # A trade recorded without the re-mark (no signal can tell the marks changed)...
    fund.trade("WDOH25", "BUY", "5", D3, price="5560.00")
    statuses(alice, fund)
    assert get(alice, "book", fund).content.decode().count(">15<") == 0
    # ...then the MTM's bulk_create of the marks: the explicit bump.
    run_mtm(fund.portfolio, D3)
    assert get(alice, "book", fund)["X-Cache"] == "miss"
    assert get(alice, "book", fund).content.decode().count(">15<") == 1


def test_a_price_import_invalidates(fund: Book, alice: Client, tmp_path: Path) -> None:
    from apps.marketdata.importers.csv_prices import import_price_csv

    statuses(alice, fund)
    market = versions()["market"]
    path = tmp_path / "prices.csv"
    path.write_text("date,ticker,price,rate\n2025-02-06,WDOH25,5580.00,\n")
    assert import_price_csv(path).created == 1
    assert versions()["market"] == market + 1
    assert statuses(alice, fund) == dict.fromkeys(PAGES, "miss")


# --- a stale refill racing an invalidation ----------------------------------------------------


def test_a_stale_refill_lands_under_a_key_nobody_reads(
    fund: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read starts (versions read, the book built), a trade commits meanwhile, then the read
    stores what it built: under the old version's key. The next read misses and builds the
    fresh book."""
    from apps.positions import queries

    real = queries.build_book
    today = MORNING.date()
    key = key_for("book", fund.portfolio.pk, queries.book_params(today, None, None, False))
    raced: list[bool] = []

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        built = real(*args, **kwargs)
        if not raced:  # the invalidation commits while this read is still building
            raced.append(True)
            remark_trade(fund, "5")
        return built

    monkeypatch.setattr(queries, "build_book", slow_build)
    first = queries.cached_book(fund.portfolio, today)
    assert first.status == "miss" and first.value.rows[0].quantity == Decimal("10")
    assert cache_get(key).rows[0].quantity == Decimal("10")  # the late set, old version
    assert key_for("book", fund.portfolio.pk, key.rsplit(":", 1)[1]) != key

    fresh = queries.cached_book(fund.portfolio, today)
    assert fresh.status == "miss" and fresh.value.rows[0].quantity == Decimal("15")
    assert queries.cached_book(fund.portfolio, today).status == "hit"


def test_the_refresh_warms_every_registered_read_model(fund: Book) -> None:
    # The four pages' read models, and the book's intraday estimate (on the morning of D4,
    # one step from the close of D3: there is one to warm).
    assert set(read_cache_module.WARMERS) == {*PAGES, "intraday"}
    assert read_cache_module.warm(fund.portfolio) == list(read_cache_module.WARMERS)
    for name in (*PAGES, "intraday"):
        assert any(k.startswith(f"rm:{name}:{fund.portfolio.pk}:") for k in stored_keys())


def test_a_failing_warmer_never_reaches_the_request(
    fund: Book,
    alice: Client,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.CACHE_WRITE_THROUGH = True

    def broken(portfolio: Any) -> None:
        raise RuntimeError("warmer exploded")

    monkeypatch.setitem(read_cache_module.WARMERS, "book", broken)
    remark_trade(fund, "5")  # the refresh runs on commit and fails: logged, not raised
    assert "write-through refresh" in caplog.text
    assert get(alice, "book", fund).content.decode().count(">15<") == 1
    assert cache_get("rm:nothing") is MISSING


# --- the frame (base.html, rendered per request around the cached body) ----------------------

BANNER = 'data-testid="pipeline-banner"'


def test_the_pipeline_banner_comes_and_goes_on_a_cached_page(fund: Book, alice: Client) -> None:
    get(alice, "book", fund)
    assert get(alice, "book", fund)["X-Cache-Detail"] == "page=hit; data=-"
    assert run_pipeline("eod", fund.portfolio, date(2025, 2, 7)).status == "failed"  # no prices
    page = get(alice, "book", fund)
    assert page["X-Cache-Detail"] == "page=hit; data=-"  # the body; the frame shows the banner
    assert BANNER in page.content.decode()
    again = get(alice, "book", fund)
    assert again["X-Cache-Detail"] == "page=hit; data=-"
    assert BANNER in again.content.decode()
    failed = PipelineRun.objects.get(status=PipelineRun.Status.FAILED)
    failed.status = PipelineRun.Status.SUCCESS  # as a successful re-run leaves it
    failed.save()
    assert BANNER not in get(alice, "book", fund).content.decode()


def test_a_hit_runs_three_queries_and_renders_only_the_frame(
    fund: Book, alice: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    """The session (in the database only, issue 14 §3.1), the user and the data versions (the
    role names travel in the session); only the frame (base.html around the cached body) is
    rendered."""
    rendered: list[str] = []

    def seen(sender: Any, template: Any, **kwargs: Any) -> None:
        rendered.append(template.name)

    template_rendered.connect(seen)
    try:
        statuses(alice, fund)
        assert "base.html" in rendered  # the misses render (so the receiver sees renders)
        rendered.clear()
        for page in PAGES:
            with django_assert_num_queries(3):
                response = get(alice, page, fund)
            assert response["X-Cache-Detail"] == "page=hit; data=-", page
            assert float(response["Server-Timing"].removeprefix("app;dur=")) > 0
    finally:
        template_rendered.disconnect(seen)
    assert set(rendered) == {"core/cached_page.html", "base.html"}


def test_a_renamed_user_sees_the_new_name_on_the_next_hit(fund: Book, alice: Client) -> None:
    get(alice, "risk", fund)
    assert "Alice Manager" in get(alice, "risk", fund).content.decode()
    fund.user.first_name = "Alicia"
    fund.user.save()
    page = get(alice, "risk", fund)
    assert page["X-Cache-Detail"] == "page=hit; data=-"  # the frame is drawn per request
    html = page.content.decode()
    assert "Alicia Manager" in html and "Alice Manager" not in html


def test_a_flash_message_is_shown_once_on_a_cached_page(fund: Book, alice: Client) -> None:
    get(alice, "book", fund)
    get(alice, "book", fund)
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(messages.SUCCESS, "Trade 42 booked.")
    carrier = HttpResponse()
    storage.update(carrier)
    alice.cookies["messages"] = carrier.cookies["messages"].value
    shown = get(alice, "book", fund)
    assert shown["X-Cache-Detail"] == "page=hit; data=-"  # base.html drawn for this request
    assert "Trade 42 booked." in shown.content.decode()
    after = get(alice, "book", fund)
    assert after["X-Cache-Detail"] == "page=hit; data=-"
    assert "Trade 42 booked." not in after.content.decode()
