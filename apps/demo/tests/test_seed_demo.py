"""The demo market generator and `manage.py seed_demo`."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from apps.demo import seeders
from apps.demo.market import DemoMarket, generate_market
from apps.demo.market.paths import trading_days
from apps.demo.users import DEMO_USERS
from apps.marketdata import pricing
from apps.marketdata.calendar import business_days, is_business_day
from apps.marketdata.contracts import parse_ticker
from apps.marketdata.models import Fixing, Instrument, PriceSource, SettlementPrice
from tests.support import DEMO_PASSWORD, log_in

# A window across the 2023-12-26 switch to the calendar with 20 November as a holiday.
START, END = date(2023, 11, 1), date(2024, 11, 29)
SEED = 7


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return generate_market(START, END, seed=SEED)


def _by_kind(market: DemoMarket, kind: str) -> list:
    return [row for row in market.prices if market.instruments[row.ticker].kind == kind]


def _checksum(market: DemoMarket, until: date = END) -> str:
    text = "\n".join(
        f"{r.ticker} {r.date} {r.price} {r.rate}" for r in market.prices if r.date <= until
    )
    # Daily fixings only: which IPCA months are known depends on the window's end.
    daily = [f for f in market.fixings if f.date <= until and not f.index.startswith("IPCA")]
    text += "\n".join(f"{f.index} {f.date} {f.value}" for f in daily)
    return hashlib.sha256(text.encode()).hexdigest()


# --- the generator (no database) ------------------------------------------------------------


def test_it_covers_every_business_day_of_the_window(market: DemoMarket) -> None:
    assert market.dates == [d for d in trading_days(START, END) if is_business_day(d)]
    # 20/11 became a national holiday in 2024, not before.
    assert date(2023, 11, 20) in market.dates and date(2024, 11, 20) not in market.dates
    assert all(is_business_day(row.date) for row in market.prices)
    assert {row.date for row in market.prices} == set(market.dates)


def test_every_di1_price_is_the_b3_pu_of_its_rate(market: DemoMarket) -> None:
    rows = _by_kind(market, "DI1")
    for row in rows:
        maturity = parse_ticker(row.ticker).maturity
        assert row.rate is not None and row.rate == round(row.rate, 5)  # 3 decimals in %
        assert row.price == pricing.di1_pu(row.rate, business_days(row.date, maturity))
        assert row.date < maturity
    rates = [row.rate for row in rows if row.rate is not None]
    assert Decimal("0.08") < min(rates) < max(rates) < Decimal("0.18")


def test_at_least_twelve_di1_contracts_trade_every_day(market: DemoMarket) -> None:
    per_day = Counter(row.date for row in _by_kind(market, "DI1"))
    assert min(per_day[day] for day in market.dates) >= 12


def test_a_di1_contract_trades_every_day_from_listing_to_expiry(market: DemoMarket) -> None:
    days = defaultdict(list)
    for row in _by_kind(market, "DI1"):
        days[row.ticker].append(row.date)
    for ticker, traded in days.items():
        expected = [d for d in market.dates if traded[0] <= d < parse_ticker(ticker).maturity]
        assert traded == expected, ticker


def test_fixings_exist_for_every_business_day(market: DemoMarket) -> None:
    by_index = defaultdict(set)
    for fixing in market.fixings:
        by_index[fixing.index].add(fixing.date)
    for index in ("CDI", "SELIC", "SELIC_TARGET", "PTAX_SELL", "PTAX_BUY", "VNA_NTNB", "VNA_LFT"):
        assert by_index[index] == set(market.dates), index
    assert all(d.day == 1 for d in by_index["IPCA_MONTHLY"])
    assert len(by_index["IPCA_MONTHLY"]) >= 11


def test_selic_moves_at_copom_meetings_in_quarter_point_steps(market: DemoMarket) -> None:
    target = {f.date: f.value for f in market.fixings if f.index == "SELIC_TARGET"}
    cdi = {f.date: f.value for f in market.fixings if f.index == "CDI"}
    path = [target[d] for d in market.dates]
    steps = zip(market.dates[1:], pairwise(path), strict=True)
    moves = [(day, b - a) for day, (a, b) in steps if a != b]
    assert moves
    assert all(Decimal("0.10") <= v <= Decimal("0.15") for v in path)
    assert all(abs(step) <= Decimal("0.01") and step % Decimal("0.0025") == 0 for _, step in moves)
    assert all((b - a).days >= 30 for (a, _), (b, _) in pairwise(moves))
    assert all(cdi[d] == target[d] - Decimal("0.0010") for d in market.dates)


def test_fx_and_equity_levels_are_realistic(market: DemoMarket) -> None:
    ptax = {f.date: f.value for f in market.fixings if f.index == "PTAX_SELL"}
    buy = {f.date: f.value for f in market.fixings if f.index == "PTAX_BUY"}
    assert all(Decimal("4.7") < v < Decimal("6.3") for v in ptax.values())
    assert all(buy[d] == ptax[d] - Decimal("0.0006") for d in ptax)
    bova = [row.price for row in market.prices if row.ticker == "BOVA11"]
    assert len(bova) == len(market.dates)
    assert all(Decimal("105") < p < Decimal("150") for p in bova)


def test_mini_contracts_share_the_full_contract_price(market: DemoMarket) -> None:
    prices = {(row.ticker, row.date): row.price for row in market.prices}
    for (ticker, day), price in prices.items():
        if ticker[:3] in ("DOL", "IND"):
            mini = {"DOL": "WDO", "IND": "WIN"}[ticker[:3]] + ticker[3:]
            assert prices[(mini, day)] == price
    ind = [row.price for row in _by_kind(market, "IND")]
    assert ind and all(p % 5 == 0 for p in ind)


def test_bonds_and_rate_futures_use_the_published_formulas(market: DemoMarket) -> None:
    vna = {f.date: f.value for f in market.fixings if f.index == "VNA_NTNB"}
    lft_vna = {f.date: f.value for f in market.fixings if f.index == "VNA_LFT"}
    seen = set()
    for row in market.prices:
        spec = market.instruments[row.ticker]
        kind, maturity, rate = spec.kind, spec.maturity, row.rate
        if kind not in ("LTN", "NTNF", "NTNB", "LFT", "DAP", "DDI"):
            continue
        assert maturity is not None and rate is not None
        if kind == "LTN":
            assert row.price == pricing.ltn_pu(rate, row.date, maturity)
        elif kind == "NTNF":
            assert row.price == pricing.ntnf_pu(rate, row.date, maturity)
        elif kind == "NTNB":
            assert row.price == pricing.ntnb_pu(rate, row.date, maturity, vna[row.date])
            assert Decimal("0.05") <= rate <= Decimal("0.0705")
        elif kind == "LFT":
            assert row.price == pricing.lft_pu(rate, row.date, maturity, lft_vna[row.date])
        elif kind == "DAP":
            assert row.price == pricing.dap_pu(rate, business_days(row.date, maturity))
            assert Decimal("0.05") <= rate <= Decimal("0.07")
        else:  # DDI
            assert row.price == pricing.ddi_pu(rate, (maturity - row.date).days)
        seen.add(kind)
    assert seen == {"LTN", "NTNF", "NTNB", "LFT", "DAP", "DDI"}


def test_offshore_futures_roll_quarterly_in_usd(market: DemoMarket) -> None:
    offshore = {t: s for t, s in market.instruments.items() if s.kind == "OFFSHORE_FUTURE"}
    assert {"ESZ23", "ESH24", "ESM24", "ESU24", "ESZ24", "ZNZ23", "ZNH24"} <= offshore.keys()
    assert all(s.currency == "USD" and s.asset_class == "OFFSHORE" for s in offshore.values())
    assert offshore["ESZ23"].maturity == date(2023, 12, 15)  # third Friday
    assert offshore["ESZ23"].multiplier == 50 and offshore["ZNZ23"].multiplier == 1000
    per_day = Counter(row.date for row in _by_kind(market, "OFFSHORE_FUTURE"))
    assert set(per_day.values()) == {4}  # front and next of each


def test_same_seed_gives_the_same_market_and_another_seed_does_not(market: DemoMarket) -> None:
    month = date(2023, 12, 29)
    again = generate_market(START, month, seed=SEED)
    other = generate_market(START, month, seed=SEED + 1)
    assert _checksum(again, month) == _checksum(market, month)
    assert _checksum(other, month) != _checksum(market, month)


def test_a_longer_window_does_not_rewrite_history(market: DemoMarket) -> None:
    # What lets tomorrow's seed_demo add one day to today's data without a seam.
    later = generate_market(date(2024, 9, 2), date(2025, 1, 31), seed=SEED)
    overlap = {(r.ticker, r.date): r for r in market.prices if r.date >= date(2024, 9, 2)}
    extended = {(r.ticker, r.date): r for r in later.prices if r.date <= END}
    assert overlap == extended


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def fast_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = True


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, int, int]:
    return Instrument.objects.count(), SettlementPrice.objects.count(), Fixing.objects.count()


@pytest.mark.django_db
def test_seed_demo_stores_the_market_once(fast_hasher: None) -> None:
    first = _seed("--years", "1", "--end", f"{END}", "--seed", f"{SEED}")
    instruments, prices, fixings = _counts()
    assert f"added {instruments} instruments, {prices} prices, {fixings} fixings" in first
    assert SettlementPrice.objects.exclude(source=PriceSource.DEMO).count() == 0
    di1 = SettlementPrice.objects.filter(instrument__kind="DI1").select_related("instrument")
    per_day = Counter(row.date for row in di1)
    assert min(per_day.values()) >= 12
    assert len(per_day) == len(trading_days(date(2023, 11, 29), END))
    for row in di1[:200]:
        assert row.instrument.maturity is not None and row.rate is not None
        du = business_days(row.date, row.instrument.maturity)
        assert row.price == pricing.di1_pu(row.rate, du)

    second = _seed("--years", "1", "--end", f"{END}", "--seed", f"{SEED}")
    assert _counts() == (instruments, prices, fixings)
    assert "nothing added" in second


@pytest.mark.django_db
def test_seed_demo_adds_only_the_new_days_when_the_end_moves(fast_hasher: None) -> None:
    _seed("--years", "1", "--end", f"{END}", "--seed", f"{SEED}")
    before = set(SettlementPrice.objects.values_list("instrument__ticker", "date", "price"))

    later = date(2024, 12, 6)
    output = _seed("--years", "1", "--end", f"{later}", "--seed", f"{SEED}")
    assert "generated from 2024-12-02" in output
    after = set(SettlementPrice.objects.values_list("instrument__ticker", "date", "price"))
    tail = generate_market(date(2024, 12, 2), later, seed=SEED)
    assert after - before == {(r.ticker, r.date, r.price) for r in tail.prices}
    assert before <= after


@pytest.mark.django_db
def test_seed_demo_refuses_in_production_without_the_flag(settings, monkeypatch) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-production"):
        _seed("--years", "1")
    assert not User.objects.exists() and not SettlementPrice.objects.exists()

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(seeders, "SEEDERS", [seeders.seed_users])
    _seed("--allow-production")
    assert User.objects.count() == len(DEMO_USERS)


@pytest.mark.django_db
def test_demo_users_have_their_roles_and_can_log_in(fast_hasher: None, monkeypatch) -> None:
    monkeypatch.setattr(seeders, "SEEDERS", [seeders.seed_users])
    output = _seed()
    expected = {
        "pm_alice": ("manager", False),
        "cio_bob": ("approver", False),
        "bo_carol": ("back_office", True),
        "ops_erin": ("ops", True),
        "viewer_dan": ("viewer", False),
    }
    for username, (role, staff) in expected.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff is staff and not user.is_superuser
        assert log_in(Client(), username, DEMO_PASSWORD)
        assert f"{username}" in output and DEMO_PASSWORD in output
    client = Client()
    log_in(client, "bo_carol", DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_changed_password_survives_unless_reset(fast_hasher: None, monkeypatch) -> None:
    monkeypatch.setattr(seeders, "SEEDERS", [seeders.seed_users])
    _seed()
    alice = User.objects.get(username="pm_alice")
    alice.set_password("alice-own-secret-123")
    alice.save()

    output = _seed()
    assert log_in(Client(), "pm_alice", "alice-own-secret-123")
    assert "changed since seeding" in output

    _seed("--reset-passwords")
    assert log_in(Client(), "pm_alice", DEMO_PASSWORD)


@pytest.mark.django_db
def test_demo_password_comes_from_the_environment(fast_hasher: None, monkeypatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-pass-42")
    monkeypatch.setattr(seeders, "SEEDERS", [seeders.seed_users])
    assert "another-demo-pass-42" in _seed()
    assert log_in(Client(), "viewer_dan", "another-demo-pass-42")
