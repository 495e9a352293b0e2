"""Who may open what: every page and API endpoint × the five roles and an anonymous visitor.

One table (`TABLE`) lists every URL of the project with the expected outcome for each column:
manager (pm_alice), approver (cio_bob), back office (bo_carol), ops (ops_erin), viewer
(viewer_dan) and anonymous. Tokens:

    200 403 405 404   the status of a GET
    302               a redirect that is not a refusal (not to a login page with ?next=)
    login             302 to the login page (`/login/?next=…`)
    admin-login       302 to the admin's own login page (the user is not staff)
    A201, A302, …     a POST that is ALLOWED: that status, and the row's `effect` changed in the DB
    R403, R302, …     a POST that is REFUSED: that status, and nothing changed in the DB
    Rlogin            a POST refused with a redirect to the login page

An API row's anonymous column is DRF's answer to an unauthenticated request (`API_ANON`): 403
while SessionAuthentication comes first in DEFAULT_AUTHENTICATION_CLASSES, 401 once a class
with a WWW-Authenticate challenge (TokenAuthentication) leads.

Every request (GETs too) is checked against a fingerprint of the database: a GET and a refused
POST change nothing; an allowed POST changes what its row says it changes.

`test_every_url_pattern_has_a_row` walks the URL resolver: a new page (or a new API action)
without a row here fails the suite. The fund is small (one WDO future, two business days,
marked by the real EOD pipeline) and built once per module inside a transaction that is rolled
back at the end; each test runs in its own savepoint on top of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from apps.attribution.models import PerformanceSnapshot
from apps.briefings.models import MorningPack
from apps.briefings.services import generate_morning_pack
from apps.compliance.models import Breach, ComplianceRule, RuleCheck, RuleKind
from apps.journal.models import Entry
from apps.marketdata.models import Fixing, Instrument, IntradayPrice, SettlementPrice
from apps.marketdata.tests.factories import InstrumentFactory
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_pipeline
from apps.ops.tests.support import run_of
from apps.positions.models import DailyMark, Position, Trade
from apps.positions.services import TradeTicket
from apps.positions.tests.factories import PortfolioFactory, StrategyFactory
from apps.proposals.models import Proposal
from apps.proposals.services import Terms, approve_proposal, create_proposal
from apps.risk.models import Alert, IntradayRisk, Limit, Metric, RiskSnapshot
from apps.tokens.models import ApiToken
from apps.tokens.services import issue_token
from apps.trading.overrides import request_override
from tests.support import Book, make_user

pytestmark = pytest.mark.django_db

D1, D2 = date(2025, 2, 3), date(2025, 2, 4)  # Monday, Tuesday
NOW = datetime(2025, 2, 4, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))  # D2's session
ROLES = ("manager", "approver", "back_office", "ops", "viewer", "anonymous")


def _api_anonymous() -> str:
    """DRF answers an unauthenticated request 401 when its first authentication class sends a
    `WWW-Authenticate` challenge (token), 403 otherwise (session)."""
    classes = cast("list[type[BaseAuthentication]]", api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    first = classes[0]()
    request = Request(APIRequestFactory().get("/api/"))
    return "401" if first.authenticate_header(request) else "403"


API_ANON = _api_anonymous()


# --- the world: a small fund, marked, with something to decide, execute and acknowledge -------


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, Any]


def _build_world() -> World:
    users = {
        "manager": make_user("pm_alice", "manager", first_name="Alice"),
        "approver": make_user("cio_bob", "approver", first_name="Bob"),
        "back_office": make_user("bo_carol", "back_office", staff=True, first_name="Carol"),
        "ops": make_user("ops_erin", "ops", staff=True, first_name="Erin"),
        "viewer": make_user("viewer_dan", "viewer", first_name="Dan"),
    }
    proposer = make_user("pm_zed", "manager", first_name="Zed")  # not one of the columns
    build_market()
    ids = build_fund(
        "macro", trader=users["manager"], approver=users["approver"], proposer=proposer
    )
    ids["token"] = issue_token(users["manager"], name="risk feed").token.pk
    return World(users, ids)


def build_market() -> None:
    """One WDO future settled on D1 and D2, with the CDI and the PTAX of both days."""
    wdo = InstrumentFactory.create(ticker="WDOH25")
    for day, price in ((D1, "5539.36"), (D2, "5575.65")):
        SettlementPrice.objects.create(instrument=wdo, date=day, source="B3", price=Decimal(price))
        Fixing.objects.create(index="CDI", date=day, value=Decimal("0.1315"))
        Fixing.objects.create(index="PTAX_SELL", date=day, value=Decimal("5.8000"))


def build_fund(code: str, *, trader: User, approver: User, proposer: User) -> dict[str, Any]:
    """A fund on the market of D1–D2: one WDO trade, marked by the EOD, with a breached limit
    and its alert, a pending and an approved proposal, a refused ticket waiting for an
    override, a morning pack; the ids every row of the table names."""
    wdo = Instrument.objects.get(ticker="WDOH25")
    portfolio = PortfolioFactory.create(code=code, name=f"{code.title()} FIM", inception_date=D1)
    strategy = StrategyFactory.create(portfolio=portfolio, code="fx", name="FX tactical")
    trade = Book(portfolio, strategy, trader).trade("WDOH25", "BUY", "10", D1, price="5529.50")
    # A gross limit the position breaches: the EOD risk step opens a hard alert.
    Limit.objects.create(
        portfolio=portfolio,
        metric=Metric.GROSS,
        warning_level=Decimal("0.0001"),
        hard_level=Decimal("0.0002"),
    )
    # A cash floor no fund meets: the EOD's compliance step opens a breach (a WDO ticket
    # changes no cash, so the trades below neither break nor worsen it).
    ComplianceRule.objects.create(
        portfolio=portfolio,
        code="cash-floor",
        name="Cash ≥ 150 % of NAV",
        kind=RuleKind.MIN_CASH,
        limit=Decimal("1.5"),
        legal_basis="Matrix test.",
    )
    outcome = run_pipeline("eod", portfolio, D1)
    assert outcome.status == "ran", outcome.run and outcome.run.error
    generate_morning_pack(portfolio, D2)

    def propose(quantity: str, rationale: str) -> Proposal:
        return create_proposal(
            portfolio=portfolio,
            strategy=strategy,
            instrument=wdo,
            terms=Terms("BUY", Decimal(quantity)),
            rationale=rationale,
            business_date=D2,
            by=proposer,
        )

    pending = propose("5", "Dollar bid into the fiscal package.")
    approved = propose("4", "Add on the dip.")
    approve_proposal(approved, by=approver, override_note="Limit test fund.")
    alert = Alert.objects.open().filter(portfolio=portfolio).order_by("pk").first()
    assert alert is not None, "the EOD run should have opened an alert"
    # A ticket refused for the breached gross limit, waiting for an approver (not its booker).
    override = request_override(
        TradeTicket(portfolio, strategy, wdo, "BUY", Decimal("1"), D2, price=Decimal("5575.65")),
        by=proposer,
        reason="Matrix test: the fund's gross limit is set to be breached.",
    )
    assert PerformanceSnapshot.objects.filter(portfolio=portfolio).exists()
    return {
        "portfolio": portfolio.code,
        "portfolio_pk": portfolio.pk,
        "strategy": strategy.code,
        "strategy_pk": strategy.pk,
        "instrument": wdo.pk,
        "position": Position.objects.get(portfolio=portfolio).pk,
        "trade": trade.pk,
        "pending": pending.pk,
        "approved": approved.pk,
        "alert": alert.pk,
        "breach": Breach.objects.get(portfolio=portfolio).pk,
        "override": override.pk,
        "run": run_of(outcome).pk,
        "entry": Entry.objects.filter(portfolio_id=portfolio.pk)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first(),
        "price": SettlementPrice.objects.order_by("pk").values_list("pk", flat=True).first(),
        "fixing": Fixing.objects.order_by("pk").values_list("pk", flat=True).first(),
        "d1": D1.isoformat(),
        "d2": D2.isoformat(),
    }


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once, inside a transaction rolled back after the module (tests nest savepoints)."""
    traveller = time_machine.travel(NOW, tick=True)
    traveller.start()
    try:
        with (
            django_db_blocker.unblock(),
            override_settings(
                ANTHROPIC_API_KEY="", PIPELINE_RETRY_DELAYS=[], CACHE_WRITE_THROUGH=False
            ),
        ):
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                yield _build_world()
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
    finally:
        traveller.stop()


def fingerprint() -> dict[str, Any]:
    """What an allowed POST may change and a refused one (or any GET) must leave alone."""

    def rows(queryset: Any, *fields: str) -> str:
        return json.dumps(list(queryset.order_by("pk").values_list(*fields)), default=str)

    return {
        "trades": rows(Trade.objects, "pk", "side", "quantity"),
        "proposals": rows(Proposal.objects, "pk", "status", "quantity", "what_if"),
        "entries": Entry.objects.count(),
        "plans": rows(Position.objects, "pk", "thesis", "stop", "target"),
        "marks": rows(DailyMark.objects, "pk", "date"),
        "snapshots": rows(RiskSnapshot.objects, "pk", "date", "computed_at"),
        "intraday_risk": rows(IntradayRisk.objects, "pk", "date", "computed_at"),
        "checks": rows(RuleCheck.objects, "pk", "date", "checked_at"),
        "intraday": rows(IntradayPrice.objects, "pk", "price"),
        "alerts": rows(Alert.objects, "pk", "status"),
        "breaches": rows(Breach.objects, "pk", "state"),
        "packs": MorningPack.objects.count(),
        "runs": rows(PipelineRun.objects, "pk", "status", "attempt"),
        "sessions": Session.objects.count(),
        "tokens": rows(ApiToken.objects, "pk", "revoked_at"),
    }


# --- the table ---------------------------------------------------------------------------------

Payload = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    label: str
    method: str
    path: str  # formatted with the world's ids
    expect: tuple[str, ...]  # one token per ROLES column
    payload: Payload | None = None
    effect: str = ""  # the fingerprint key an allowed POST changes
    api: bool = False

    def url(self, ids: dict[str, Any]) -> str:
        return self.path.format(**ids)


def page(label: str, path: str, expect: str, **kw: Any) -> Row:
    return Row(label, "GET", path, tuple(expect.split()), **kw)


def post(label: str, path: str, expect: str, payload: Payload, effect: str, **kw: Any) -> Row:
    return Row(label, "POST", path, tuple(expect.split()), payload, effect, **kw)


def api(label: str, path: str, roles: str, **kw: Any) -> Row:
    """An API GET: five role tokens; the anonymous column is DRF's unauthenticated answer."""
    return Row(label, "GET", path, (*roles.split(), API_ANON), api=True, **kw)


def api_post(label: str, path: str, roles: str, payload: Payload, effect: str) -> Row:
    return Row(label, "POST", path, (*roles.split(), f"R{API_ANON}"), payload, effect, api=True)


EVERYONE = "200 200 200 200 200 login"
ALL_ROLES = "200 200 200 200 200"
NOT_GET = "405 405 405 405 405 login"  # POST-only pages
API_NOT_GET = "405 405 405 405 405"  # POST-only API actions (the permission check runs first)

TABLE: list[Row] = [
    # --- ops, auth -------------------------------------------------------------------------
    page("home", "/", "302 302 302 302 302 login"),
    page("login page", "/login/", "302 302 302 302 302 200"),
    page("logout by GET", "/logout/", NOT_GET),
    post("logout", "/logout/", "A302 A302 A302 A302 A302 Rlogin", lambda i: {}, "sessions"),
    page("health", "/health", "200 200 200 200 200 200"),
    page("ready", "/ready", "200 200 200 200 200 200"),
    page("metrics", "/metrics", "200 200 200 200 200 200"),
    page("admin index", "/admin/", "admin-login admin-login 200 200 admin-login admin-login"),
    # --- book ------------------------------------------------------------------------------
    page("book", "/book/", EVERYONE),
    page("position page", "/book/position/{position}/", EVERYONE),
    page("intraday grid by GET", "/book/intraday/", NOT_GET),
    post(
        "intraday grid",
        "/book/intraday/",
        "A302 R403 A302 R403 R403 Rlogin",
        lambda i: {"portfolio": i["portfolio"], "q-WDOH25": "5561.5"},
        "intraday",
    ),
    page("intraday upload by GET", "/book/intraday/upload/", NOT_GET),
    post(
        "intraday upload",
        "/book/intraday/upload/",
        "A302 R403 A302 R403 R403 Rlogin",
        lambda i: {
            "portfolio": i["portfolio"],
            "file": SimpleUploadedFile("prices.csv", b"ticker,price\nWDOH25,5562.0\n"),
        },
        "intraday",
    ),
    page("position plan by GET", "/book/position/{position}/plan/", NOT_GET),
    post(
        "position plan",
        "/book/position/{position}/plan/",
        "A302 R403 R403 R403 R403 Rlogin",
        lambda i: {"thesis": "Fiscal noise fades.", "stop": "5400", "target": "5800"},
        "plans",
    ),
    page("trade entry", "/book/trade/new/", "200 403 200 403 403 login"),
    post(
        "trade entry",
        "/book/trade/new/",
        "A302 R403 A302 R403 R403 Rlogin",
        lambda i: {
            "portfolio": i["portfolio_pk"],
            "strategy": i["strategy_pk"],
            "instrument": i["instrument"],
            # Selling part of the long reduces the (breached) gross: the pre-trade check
            # lets it through, so the row tests who may book, not the limits.
            "side": "SELL",
            "quantity": "2",
            "price": "5570.00",
            "trade_date": i["d2"],
            "fees": "0",
        },
        "trades",
    ),
    page("reverse by GET", "/book/trade/{trade}/reverse/", NOT_GET),
    post(
        "reverse",
        "/book/trade/{trade}/reverse/",
        "A302 R403 A302 R403 R403 Rlogin",
        lambda i: {"reason": "Booked in the wrong fund."},
        "trades",
    ),
    page("override requests", "/book/overrides/", "200 200 200 403 403 login"),
    page("override grant by GET", "/book/overrides/{override}/grant/", NOT_GET),
    post(
        "override grant",
        "/book/overrides/{override}/grant/",
        "A302 A302 R403 R403 R403 Rlogin",
        lambda i: {"note": "Released for the test fund."},
        "trades",
    ),
    page("override decline by GET", "/book/overrides/{override}/decline/", NOT_GET),
    post(
        "override decline",
        "/book/overrides/{override}/decline/",
        "A302 A302 R403 R403 R403 Rlogin",
        lambda i: {"note": "Too big for the test fund."},
        "entries",
    ),
    page("sandbox", "/book/sandbox/", "200 200 200 403 403 login"),
    # --- market ----------------------------------------------------------------------------
    page("market", "/market/", EVERYONE),
    # --- blotter ---------------------------------------------------------------------------
    page("blotter", "/blotter/", EVERYONE),
    page("new proposal by GET", "/blotter/new/", NOT_GET),
    post(
        "new proposal",
        "/blotter/new/",
        "A302 A302 R403 R403 R403 Rlogin",
        lambda i: {
            "portfolio": i["portfolio_pk"],
            "strategy": i["strategy_pk"],
            "instrument": i["instrument"],
            "side": "SELL",
            "quantity": "3",
            "conviction": "2",
            "business_date": i["d2"],
            "rationale": "Take profit into the auction.",
        },
        "proposals",
    ),
    page("proposal page", "/blotter/{pending}/", EVERYONE),
    # Decisions refused by the service come back to the proposal page with the reason (302).
    page("approve by GET", "/blotter/{pending}/approve/", NOT_GET),
    post(
        "approve",
        "/blotter/{pending}/approve/",
        "A302 A302 R302 R302 R302 Rlogin",
        lambda i: {"note": "Agreed.", "override_note": "Test fund limit."},
        "proposals",
    ),
    page("reject by GET", "/blotter/{pending}/reject/", NOT_GET),
    post(
        "reject",
        "/blotter/{pending}/reject/",
        "A302 A302 R302 R302 R302 Rlogin",
        lambda i: {"note": "Not before the auction."},
        "proposals",
    ),
    page("modify by GET", "/blotter/{pending}/modify/", NOT_GET),
    post(
        "modify",
        "/blotter/{pending}/modify/",
        "A302 A302 R302 R302 R302 Rlogin",
        lambda i: {
            "side": "BUY",
            "quantity": "2",
            "note": "Half size.",
            "override_note": "Test fund limit.",
        },
        "proposals",
    ),
    page("execute by GET", "/blotter/{approved}/execute/", NOT_GET),
    post(
        "execute",
        "/blotter/{approved}/execute/",
        "A302 R302 A302 R302 R302 Rlogin",
        lambda i: {"quantity": "4", "price": "5570.00", "trade_date": i["d2"], "fees": "0"},
        "trades",
    ),
    page("proposal note by GET", "/blotter/{pending}/note/", NOT_GET),
    post(
        "proposal note",
        "/blotter/{pending}/note/",
        "A302 A302 R403 R403 R403 Rlogin",
        lambda i: {"note": "Call the broker at 10:00."},
        "entries",
    ),
    page("what-if again by GET", "/blotter/{pending}/what-if/", NOT_GET),
    post(
        "what-if again",
        "/blotter/{pending}/what-if/",
        "A302 A302 R403 A302 R403 Rlogin",
        lambda i: {},
        "proposals",
    ),
    # --- journal ---------------------------------------------------------------------------
    page("journal", "/journal/", EVERYONE),
    page("journal note by GET", "/journal/notes/", NOT_GET),
    post(
        "journal note",
        "/journal/notes/",
        "A302 A302 R403 R403 R403 Rlogin",
        lambda i: {
            "note": "Copom day: stay small.",
            "on_date": i["d2"],
            "portfolio": i["portfolio"],
        },
        "entries",
    ),
    # --- risk ------------------------------------------------------------------------------
    page("risk monitor", "/risk/", EVERYONE),
    page("firm", "/firm/", EVERYONE),
    page("compliance", "/compliance/", EVERYONE),
    page("acknowledge breach by GET", "/compliance/breaches/{breach}/acknowledge/", NOT_GET),
    post(
        "acknowledge breach",
        "/compliance/breaches/{breach}/acknowledge/",
        "A302 R403 A302 R403 R403 Rlogin",
        lambda i: {"note": "Subscription of R$ 10 mi lands on Friday."},
        "breaches",
    ),
    page("risk compute by GET", "/risk/compute/", NOT_GET),
    post(
        "risk compute",
        "/risk/compute/",
        "A302 A302 R403 A302 R403 Rlogin",
        lambda i: {"portfolio": i["portfolio"], "date": i["d1"]},
        "snapshots",
    ),
    page("risk recompute by GET", "/risk/recompute/", NOT_GET),
    post(
        "risk recompute",
        "/risk/recompute/",
        "A302 A302 R403 A302 R403 Rlogin",
        lambda i: {"portfolio": i["portfolio"]},
        "intraday_risk",
    ),
    page("compliance recompute by GET", "/compliance/recompute/", NOT_GET),
    post(
        "compliance recompute",
        "/compliance/recompute/",
        "A302 A302 A302 A302 R403 Rlogin",
        lambda i: {"portfolio": i["portfolio"], "date": i["d1"]},
        "checks",
    ),
    page("acknowledge by GET", "/risk/alerts/{alert}/acknowledge/", NOT_GET),
    post(
        "acknowledge",
        "/risk/alerts/{alert}/acknowledge/",
        "A302 A302 R403 A302 R403 Rlogin",
        lambda i: {"note": "Trimming at the open."},
        "alerts",
    ),
    # --- attribution -----------------------------------------------------------------------
    page("attribution", "/attribution/", EVERYONE),
    page("attribution csv", "/attribution/?format=csv&table=daily&portfolio={portfolio}", EVERYONE),
    # --- morning pack ----------------------------------------------------------------------
    page("morning pack", "/morning/", EVERYONE),
    page("morning pack of a day", "/morning/{d2}/", EVERYONE),
    page("morning pack pdf", "/morning/{d2}/pdf/", EVERYONE),
    page("generate by GET", "/morning/{d2}/generate/", NOT_GET),
    post(
        "generate",
        "/morning/{d2}/generate/",
        "A302 A302 R403 A302 R403 Rlogin",
        lambda i: {"portfolio": i["portfolio"]},
        "packs",
    ),
    # --- API: reads --------------------------------------------------------------------------
    api("api root", "/api/", ALL_ROLES),
    page("api schema", "/api/schema/", f"200 200 200 200 200 {API_ANON}"),
    page("api docs", "/api/docs/", "200 200 200 200 200 login"),
    api("api instruments", "/api/instruments/", ALL_ROLES),
    api("api instrument", "/api/instruments/{instrument}/", ALL_ROLES),
    api("api prices", "/api/prices/", ALL_ROLES),
    api("api price", "/api/prices/{price}/", ALL_ROLES),
    api("api fixings", "/api/fixings/", ALL_ROLES),
    api("api fixing", "/api/fixings/{fixing}/", ALL_ROLES),
    api("api intraday prices", "/api/intraday-prices/", ALL_ROLES),
    api_post(
        "api intraday price entry",
        "/api/intraday-prices/",
        "A201 R403 A201 R403 R403",
        lambda i: {"prices": [{"instrument": "WDOH25", "price": "5563.0"}]},
        "intraday",
    ),
    api("api book", "/api/book/?portfolio={portfolio}", ALL_ROLES),
    api("api positions", "/api/positions/", ALL_ROLES),
    api("api position", "/api/positions/{position}/", ALL_ROLES),
    api("api trades", "/api/trades/", ALL_ROLES),
    api("api trade", "/api/trades/{trade}/", ALL_ROLES),
    api("api trade overrides", "/api/trade-overrides/", ALL_ROLES),
    api("api trade override", "/api/trade-overrides/{override}/", ALL_ROLES),
    api("api proposals", "/api/proposals/", ALL_ROLES),
    api("api proposal", "/api/proposals/{pending}/", ALL_ROLES),
    api("api journal", "/api/journal/", ALL_ROLES),
    api("api journal entry", "/api/journal/{entry}/", ALL_ROLES),
    api("api risk live", "/api/risk/live/?portfolio={portfolio}&date={d1}", ALL_ROLES),
    api("api risk history", "/api/risk/history/?portfolio={portfolio}", ALL_ROLES),
    api("api risk snapshot", "/api/risk/snapshot/?portfolio={portfolio}", ALL_ROLES),
    api("api alerts", "/api/risk/alerts/", ALL_ROLES),
    api("api firm", "/api/firm/", ALL_ROLES),
    api("api compliance", "/api/compliance/?portfolio={portfolio}", ALL_ROLES),
    api("api alert", "/api/risk/alerts/{alert}/", ALL_ROLES),
    api("api returns", "/api/attribution/returns/?portfolio={portfolio}", ALL_ROLES),
    api("api contributions", "/api/attribution/contributions/?portfolio={portfolio}", ALL_ROLES),
    api("api monthly", "/api/attribution/monthly/?portfolio={portfolio}", ALL_ROLES),
    api("api attribution snapshot", "/api/attribution/snapshot/?portfolio={portfolio}", ALL_ROLES),
    api("api morning packs", "/api/morning-pack/?portfolio={portfolio}&date={d2}", ALL_ROLES),
    api("api latest morning pack", "/api/morning-pack/latest/?portfolio={portfolio}", ALL_ROLES),
    api("api own tokens", "/api/tokens/", ALL_ROLES),
    # --- API: writes (and their POST-only routes read by GET) ----------------------------------
    api_post(
        "api trade entry",
        "/api/trades/",
        "A201 R403 A201 R403 R403",
        lambda i: {
            "portfolio": i["portfolio"],
            "strategy": i["strategy"],
            "instrument": i["instrument"],
            "side": "SELL",  # reduces the breached gross (see "trade entry")
            "quantity": "2",
            "price": "5570.00",
            "trade_date": i["d2"],
        },
        "trades",
    ),
    api("api reverse by GET", "/api/trades/{trade}/reverse/", API_NOT_GET),
    api_post(
        "api reverse",
        "/api/trades/{trade}/reverse/",
        "A201 R403 A201 R403 R403",
        lambda i: {"reason": "Booked in the wrong fund."},
        "trades",
    ),
    api("api request override by GET", "/api/trades/request-override/", API_NOT_GET),
    api_post(
        "api request override",
        "/api/trades/request-override/",
        "A201 R403 A201 R403 R403",
        lambda i: {
            "portfolio": i["portfolio"],
            "strategy": i["strategy"],
            "instrument": i["instrument"],
            "side": "BUY",  # adds to the breached gross: an override is needed
            "quantity": "1",
            "price": "5575.65",
            "trade_date": i["d2"],
            "reason": "The fund's gross limit is set to be breached.",
        },
        "entries",
    ),
    api("api override grant by GET", "/api/trade-overrides/{override}/grant/", API_NOT_GET),
    api_post(
        "api override grant",
        "/api/trade-overrides/{override}/grant/",
        "A201 A201 R403 R403 R403",
        lambda i: {"note": "Released for the test fund."},
        "trades",
    ),
    api("api override decline by GET", "/api/trade-overrides/{override}/decline/", API_NOT_GET),
    api_post(
        "api override decline",
        "/api/trade-overrides/{override}/decline/",
        "A200 A200 R403 R403 R403",
        lambda i: {"note": "Too big for the test fund."},
        "entries",
    ),
    api("api mtm by GET", "/api/mtm/", API_NOT_GET),
    api_post(
        "api mtm",
        "/api/mtm/",
        "A201 R403 A201 A201 R403",
        lambda i: {"portfolio": i["portfolio"], "date": i["d2"]},
        "marks",
    ),
    api_post(
        "api new proposal",
        "/api/proposals/",
        "A201 A201 R403 R403 R403",
        lambda i: {
            "portfolio": i["portfolio"],
            "strategy": i["strategy"],
            "instrument": "WDOH25",
            "side": "SELL",
            "quantity": "3",
            "rationale": "Take profit into the auction.",
            "business_date": i["d2"],
        },
        "proposals",
    ),
    api("api approve by GET", "/api/proposals/{pending}/approve/", API_NOT_GET),
    api_post(
        "api approve",
        "/api/proposals/{pending}/approve/",
        "A200 A200 R403 R403 R403",
        lambda i: {"note": "Agreed.", "override_note": "Test fund limit."},
        "proposals",
    ),
    api("api reject by GET", "/api/proposals/{pending}/reject/", API_NOT_GET),
    api_post(
        "api reject",
        "/api/proposals/{pending}/reject/",
        "A200 A200 R403 R403 R403",
        lambda i: {"note": "Not before the auction."},
        "proposals",
    ),
    api("api modify by GET", "/api/proposals/{pending}/modify/", API_NOT_GET),
    api_post(
        "api modify",
        "/api/proposals/{pending}/modify/",
        "A200 A200 R403 R403 R403",
        lambda i: {
            "side": "BUY",
            "quantity": "2",
            "note": "Half size.",
            "override_note": "Test fund limit.",
        },
        "proposals",
    ),
    api("api execute by GET", "/api/proposals/{approved}/execute/", API_NOT_GET),
    api_post(
        "api execute",
        "/api/proposals/{approved}/execute/",
        "A201 R403 A201 R403 R403",
        lambda i: {"quantity": "4", "price": "5570.00", "trade_date": i["d2"]},
        "trades",
    ),
    api("api journal note by GET", "/api/journal/notes/", API_NOT_GET),
    api_post(
        "api journal note",
        "/api/journal/notes/",
        "A201 A201 R403 R403 R403",
        lambda i: {"note": "Copom at 18:30.", "on_date": i["d2"], "portfolio": i["portfolio"]},
        "entries",
    ),
    api("api what-if by GET", "/api/risk/what-if/", API_NOT_GET),
    api_post(
        "api what-if",
        "/api/risk/what-if/",
        "A200 A200 R403 A200 R403",
        lambda i: {"proposal": i["pending"]},
        "proposals",
    ),
    api("api risk run by GET", "/api/risk/run/", API_NOT_GET),
    api_post(
        "api risk run",
        "/api/risk/run/",
        "A201 A201 R403 A201 R403",
        lambda i: {"portfolio": i["portfolio"], "date": i["d1"]},
        "snapshots",
    ),
    api("api acknowledge by GET", "/api/risk/alerts/{alert}/acknowledge/", API_NOT_GET),
    api_post(
        "api acknowledge",
        "/api/risk/alerts/{alert}/acknowledge/",
        "A200 A200 R403 A200 R403",
        lambda i: {"note": "Trimming at the open."},
        "alerts",
    ),
    # a token is revoked by its owner (the manager here); to anyone else it does not exist
    api("api revoke token by GET", "/api/tokens/{token}/revoke/", API_NOT_GET),
    api_post(
        "api revoke token",
        "/api/tokens/{token}/revoke/",
        "A200 R404 R404 R404 R404",
        lambda i: {},
        "tokens",
    ),
    api("api generate by GET", "/api/morning-pack/generate/", API_NOT_GET),
    api_post(
        "api generate",
        "/api/morning-pack/generate/",
        "A201 A201 R403 A201 R403",
        lambda i: {"portfolio": i["portfolio"], "date": i["d2"]},
        "packs",
    ),
]


def _resolves(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


# The ops app's pipelines page (ops and managers) and its two actions, once the page exists.
if _resolves("ops:pipelines"):
    TABLE += [
        page("pipelines", "/ops/pipelines/", "200 403 403 200 403 login"),
        page("run now by GET", "/ops/pipelines/run/", NOT_GET),
        post(
            "run now",
            "/ops/pipelines/run/",
            "A302 R403 R403 A302 R403 Rlogin",
            # The pre-open: at NOW (10:00) the EOD of D2 is refused, its market not closed.
            lambda i: {"pipeline": "preopen", "date": i["d2"]},
            "runs",
        ),
        page("rerun by GET", "/ops/pipelines/{run}/rerun/", NOT_GET),
        post(
            "rerun",
            "/ops/pipelines/{run}/rerun/",
            "A302 R403 R403 A302 R403 Rlogin",
            lambda i: {},
            "runs",
        ),
    ]


def _cases() -> Iterator[Any]:
    for row in TABLE:
        for role, token in zip(ROLES, row.expect, strict=True):
            yield pytest.param(row, role, token, id=f"{row.method} {row.label} [{role}]")


# --- the tests ---------------------------------------------------------------------------------


def _request(client: Client, row: Row, ids: dict[str, Any]) -> Any:
    url = row.url(ids)
    if row.method == "GET":
        return client.get(url)
    data = row.payload(ids) if row.payload else {}
    if row.api:
        return client.post(url, json.dumps(data), content_type="application/json")
    return client.post(url, data)


def _check_status(response: Any, token: str) -> None:
    status = response.status_code
    location = response.get("Location", "")
    if token == "login":
        assert status == 302 and location.startswith(f"{reverse('login')}?next="), (
            status,
            location,
        )
    elif token == "admin-login":
        assert status == 302 and location.startswith(reverse("admin:login")), (status, location)
    elif token == "302":
        assert status == 302, status
        refusals = (f"{reverse('login')}?next=", reverse("admin:login"))
        assert not location.startswith(refusals), location
    else:
        body = b"" if status == 302 else response.content[:300]
        assert status == int(token), (status, location, body)


@pytest.mark.parametrize(("row", "role", "token"), list(_cases()))
def test_permission(
    world: World, client: Client, settings: Any, row: Row, role: str, token: str
) -> None:
    settings.METRICS_TOKEN = ""
    settings.ANTHROPIC_API_KEY = ""
    if role != "anonymous":
        client.force_login(world.users[role])
    before = fingerprint()
    response = _request(client, row, world.ids)
    after = fingerprint()
    if token[0] in "AR":
        verdict, token = token[0], token[1:]
        _check_status(response, token)
        if verdict == "A":
            assert after[row.effect] != before[row.effect], f"allowed, but {row.effect} unchanged"
            return
    else:
        _check_status(response, token)
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"{row.method} {row.url(world.ids)} as {role} changed {changed}"


def _patterns(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Any]:
    """(route, namespaced name or None, namespace, callback) of every URL pattern."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join(n for n in (namespace, entry.name) if n) if entry.name else None
            yield prefix + str(entry.pattern), name, namespace, entry.callback


# Sub-pages of the admin are the back office's own (tested with the admin); the table covers its
# index. Static files are served by whitenoise, not by a URL pattern.
ALLOWED_UNCOVERED_NAMESPACES = {"admin"}
COVERED_IN_NAMESPACE = {"admin:index"}
IMPLIED_METHODS = {"head", "options"}  # DRF answers them from GET / by itself


def test_every_url_pattern_has_a_row(world: World) -> None:
    """A new page or API action without a row in TABLE fails here."""
    covered: dict[str, set[str]] = {}
    for row in TABLE:
        path = row.url(world.ids).split("?")[0]
        covered.setdefault(resolve(path).view_name, set()).add(row.method)
    missing = []
    for route, name, namespace, callback in _patterns(get_resolver().url_patterns):
        top = namespace.split(":")[0]
        if top in ALLOWED_UNCOVERED_NAMESPACES and name not in COVERED_IN_NAMESPACE:
            continue
        if name is None or name not in covered:
            missing.append(f"{route} ({name or 'unnamed'})")
            continue
        actions = getattr(callback, "actions", None) or {}  # a DRF viewset route
        for method in set(actions) - IMPLIED_METHODS:
            if method.upper() not in covered[name]:
                missing.append(f"{method.upper()} {route} ({name})")
    assert not missing, "URLs without a row in the permission matrix:\n" + "\n".join(
        sorted(set(missing))
    )
    assert all(len(row.expect) == len(ROLES) for row in TABLE)
    assert all(row.effect for row in TABLE if row.method == "POST")
