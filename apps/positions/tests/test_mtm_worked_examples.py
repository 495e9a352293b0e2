"""End to end (trade → prices → run_mtm → mark): the worked examples of brazil-markets.md."""

from datetime import date
from decimal import Decimal

from apps.marketdata.models import Instrument
from apps.positions.models import DailyMark, NavRecord
from apps.positions.mtm import run_mtm

D = Decimal


def mark(book, ticker: str, day: date) -> DailyMark:
    return DailyMark.objects.get(
        portfolio=book.portfolio, position__instrument__ticker=ticker, date=day
    )


def test_di1f26_carried_pays_the_rate_seller_15_90_per_contract(book_at) -> None:
    book = book_at(date(2025, 1, 31), "DI1F26")
    book.price("DI1F26", date(2025, 1, 31), "88034.16", "0.14916")
    book.price("DI1F26", date(2025, 2, 3), "88093.23", "0.14901")
    book.fix("CDI", date(2025, 1, 31), "0.1315")
    # Selling rate (dar taxa) = long PU, at the settlement so the first day's ajuste is zero.
    book.trade("DI1F26", "BUY", "10", date(2025, 1, 31), price="88034.16")
    run_mtm(book.portfolio, date(2025, 1, 31))
    run_mtm(book.portfolio, date(2025, 2, 3))
    assert mark(book, "DI1F26", date(2025, 1, 31)).pnl_brl == D("0.00")
    assert mark(book, "DI1F26", date(2025, 2, 3)).pnl_brl == D("159.00")  # 10 × +15.90


def test_di1f26_rate_buyer_pays_15_90(book_at) -> None:
    book = book_at(date(2025, 1, 31), "DI1F26")
    book.price("DI1F26", date(2025, 1, 31), "88034.16", "0.14916")
    book.price("DI1F26", date(2025, 2, 3), "88093.23", "0.14901")
    book.fix("CDI", date(2025, 1, 31), "0.1315")
    book.trade("DI1F26", "SELL", "1", date(2025, 1, 31), rate="0.14916")  # tomar taxa
    run_mtm(book.portfolio, date(2025, 1, 31))
    run_mtm(book.portfolio, date(2025, 2, 3))
    assert mark(book, "DI1F26", date(2025, 2, 3)).pnl_brl == D("-15.90")


def test_di1f27_same_day_trade_loses_63_60_for_the_rate_seller(book_at) -> None:
    book = book_at(date(2025, 2, 3), "DI1F27")
    book.price("DI1F27", date(2025, 2, 3), "76828.74", "0.14875")
    trade = book.trade("DI1F27", "BUY", "1", date(2025, 2, 3), rate="0.14825")
    assert trade.price == D("76892.34")  # the PU derived from the rate, du 479
    run_mtm(book.portfolio, date(2025, 2, 3))
    assert mark(book, "DI1F27", date(2025, 2, 3)).pnl_brl == D("-63.60")


def test_broker_textbook_two_days_of_di1(book_at) -> None:
    book = book_at(date(2024, 6, 3), "DI1F26")
    book.price("DI1F26", date(2024, 6, 3), "95883.22")
    book.price("DI1F26", date(2024, 6, 4), "95944.00")
    # A daily DI of 0.0511 % is an annual CDI whose A8 daily factor is exactly 1.00051100.
    book.fix("CDI", date(2024, 6, 3), "0.1373933509")
    book.trade("DI1F26", "BUY", "500", date(2024, 6, 3), price="95889.89")
    run_mtm(book.portfolio, date(2024, 6, 3))
    run_mtm(book.portfolio, date(2024, 6, 4))
    assert mark(book, "DI1F26", date(2024, 6, 3)).pnl_brl == D("-3335.00")
    assert mark(book, "DI1F26", date(2024, 6, 4)).pnl_brl == D("5890.00")


def test_wdo_98_60_then_362_90(book_at) -> None:
    book = book_at(date(2025, 2, 3), "WDOH25")
    book.price("WDOH25", date(2025, 2, 3), "5539.36")
    book.price("WDOH25", date(2025, 2, 4), "5575.65")
    book.fix("CDI", date(2025, 2, 3), "0.1315")
    book.trade("WDOH25", "BUY", "1", date(2025, 2, 3), price="5529.50")
    run_mtm(book.portfolio, date(2025, 2, 3))
    run_mtm(book.portfolio, date(2025, 2, 4))
    assert mark(book, "WDOH25", date(2025, 2, 3)).pnl_brl == D("98.60")
    assert mark(book, "WDOH25", date(2025, 2, 4)).pnl_brl == D("362.90")


def test_win_40_00(book_at) -> None:
    book = book_at(date(2025, 2, 3), "WING25")
    book.price("WING25", date(2025, 2, 3), "104200")
    book.trade("WING25", "BUY", "1", date(2025, 2, 3), price="104000")
    run_mtm(book.portfolio, date(2025, 2, 3))
    assert mark(book, "WING25", date(2025, 2, 3)).pnl_brl == D("40.00")


def test_usd_instrument_splits_price_and_fx(book_at) -> None:
    book = book_at(date(2025, 2, 3))
    Instrument.objects.create(
        ticker="SPY", kind="ETF", asset_class="OFFSHORE", currency="USD", name="SPDR S&P 500"
    )
    book.fix("PTAX_SELL", date(2025, 2, 3), "5.0000")
    book.fix("PTAX_SELL", date(2025, 2, 4), "5.2000")
    book.fix("CDI", date(2025, 2, 3), "0.1315")
    book.price("SPY", date(2025, 2, 3), "100")
    book.price("SPY", date(2025, 2, 4), "101")
    trade = book.trade("SPY", "BUY", "10", date(2025, 2, 3), price="100")
    assert trade.fx_rate == D("5.0000")
    run_mtm(book.portfolio, date(2025, 2, 3))
    run_mtm(book.portfolio, date(2025, 2, 4))
    day2 = mark(book, "SPY", date(2025, 2, 4))
    assert day2.market_value_brl == D("5252.00")  # 10 × 101 × 5.20
    assert day2.pnl_brl == D("252.00")
    assert day2.pnl_price_brl == D("50.00")  # 10 × (101 − 100) × 5.00
    assert day2.pnl_fx_brl == D("202.00")  # 10 × 101 × (5.20 − 5.00)
    assert day2.unrealized_pnl_brl == D("252.00")


def test_nav_bridge_closes_with_cash_accruing_cdi(book_at) -> None:
    book = book_at(date(2025, 1, 31), "DI1F26")
    book.price("DI1F26", date(2025, 1, 31), "88034.16", "0.14916")
    book.price("DI1F26", date(2025, 2, 3), "88093.23", "0.14901")
    book.fix("CDI", date(2025, 1, 31), "0.1315")
    book.trade("DI1F26", "BUY", "10", date(2025, 1, 31), price="88034.16", fees="12.34")
    run_mtm(book.portfolio, date(2025, 1, 31))
    run_mtm(book.portfolio, date(2025, 2, 3))
    day1, day2 = NavRecord.objects.filter(portfolio=book.portfolio).order_by("date")
    assert day1.nav_close == D("100000000.00") - D("12.34")
    # 99,999,987.66 × (1.00049037 − 1) = 49,036.99 of CDI on cash.
    assert day2.cash_interest_brl == D("49036.99")
    assert day2.nav_close == day1.nav_close + D("159.00") + D("49036.99")
    assert day2.nav_close == day2.cash_brl + day2.holdings_value_brl


def test_mtm_is_idempotent(book_at) -> None:
    book = book_at(date(2025, 2, 3), "WING25")
    book.price("WING25", date(2025, 2, 3), "104200")
    book.trade("WING25", "BUY", "1", date(2025, 2, 3), price="104000")
    run_mtm(book.portfolio, date(2025, 2, 3))
    run_mtm(book.portfolio, date(2025, 2, 3))
    assert DailyMark.objects.filter(portfolio=book.portfolio).count() == 1
    assert NavRecord.objects.filter(portfolio=book.portfolio).count() == 1


def test_a_future_without_carry_uses_the_published_settlement_decimals(book_at) -> None:
    """DOL settles with 3 decimals: yesterday's price is not rounded to cents."""
    book = book_at(date(2025, 2, 3), "WDOH25")
    book.price("WDOH25", date(2025, 2, 3), "5847.377")
    book.price("WDOH25", date(2025, 2, 4), "5850.111")
    book.fix("CDI", date(2025, 2, 3), "0.1315")
    book.trade("WDOH25", "BUY", "400", date(2025, 2, 3), price="5847.377")
    run_mtm(book.portfolio, date(2025, 2, 3))
    run_mtm(book.portfolio, date(2025, 2, 4))
    assert mark(book, "WDOH25", date(2025, 2, 4)).pnl_brl == D("10936.00")  # 2.734 × 10 × 400
