"""Demo Macro FIM's book: its slots (one position each), the script of trades and the flows.

Sizes are for a R$ 500 million fund running 4-5 % annual volatility over the demo market: DI1
legs of 5,000-25,000 R$/bp, bonds and DAP of R$ 20-70 million, FX and equity legs of R$ 20-60
million, offshore futures of about R$ 100 million each; gross exposure 150-200 % of NAV.

Offsets are business days from inception: a one-year demo plays the first ~250, the
three-year default all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pick:
    """Which listed contract a slot holds: the one of `family` nearest `du` business days to
    maturity, in `months`; it is rolled when `roll_du` or fewer days remain."""

    family: str  # ticker prefix: "DI1", "DAP", "NTNB_", "ES", "BOVA11"
    du: int = 0
    months: str = ""  # allowed contract-month letters; "" for any
    roll_du: int = 3


@dataclass(frozen=True)
class Size:
    """A full position: `units` contracts/bonds/shares, or (DI1) the contracts carrying `dv01`
    R$ per bp; rounded to `lot`."""

    units: int = 0
    dv01: int = 0
    lot: int = 1


@dataclass(frozen=True)
class Slot:
    name: str
    strategy: str
    pick: Pick
    size: Size
    thesis: str = ""
    stop: float = 0.0  # adverse move: bp of rate for DI1, a fraction of the price otherwise
    target: float = 0.0


@dataclass(frozen=True)
class Fade:
    """A tactical slot held against the last `lookback` days' move of `series` (PTAX or a
    ticker), flipped when the move exceeds `threshold` the other way."""

    series: str
    lookback: int  # business days
    threshold: float  # relative move


@dataclass(frozen=True)
class Script:
    """One demo fund's book: its strategies, slots, dated events, flows and tactical slots;
    `stream` keeps its slippage draws apart from the other funds'."""

    strategies: tuple[tuple[str, str], ...]
    slots: tuple[Slot, ...]
    events: dict[int, list[tuple[str, str, float]]]
    flows: dict[int, list[tuple[str, str, str]]]
    tactical: dict[str, Fade]
    stream: int = 0


STRATEGIES = (
    ("rates-br", "Rates BR"),
    ("inflation", "Inflation"),
    ("fx", "FX"),
    ("equities", "Equities BR"),
    ("offshore", "Offshore"),
)

_JAN, _QUARTERLY, _MAY, _DAP_QUARTERLY = "F", "FJNV", "K", "GKQX"

SLOTS: tuple[Slot, ...] = (
    # --- Rates BR: DI1 across the curve (BUY = long PU = receiving, "dado"), LTN ----------
    Slot(
        "di1-1y",
        "rates-br",
        Pick("DI1", du=300, months=_JAN, roll_du=126),
        Size(dv01=18_000, lot=5),
        thesis="Receive the one-year: the curve prices more Copom hikes than inflation needs.",
        stop=40,
        target=75,
    ),
    Slot(
        "di1-2y",
        "rates-br",
        Pick("DI1", du=500, months=_JAN, roll_du=250),
        Size(dv01=15_000, lot=5),
    ),
    Slot(
        "di1-3y",
        "rates-br",
        Pick("DI1", du=760, months=_JAN, roll_du=500),
        Size(dv01=25_000, lot=5),
        thesis="Pay the belly: the fiscal risk premium should rebuild into the budget vote.",
        stop=35,
        target=80,
    ),
    Slot(
        "di1-5y",
        "rates-br",
        Pick("DI1", du=1260, months=_JAN, roll_du=750),
        Size(dv01=20_000, lot=5),
    ),
    Slot("di1-front", "rates-br", Pick("DI1", du=63, months=_QUARTERLY), Size(dv01=5_000, lot=5)),
    Slot(
        "di1-long",
        "rates-br",
        Pick("DI1", du=2000, months=_JAN, roll_du=1000),
        Size(dv01=8_000, lot=5),
    ),
    Slot("di1-copom", "rates-br", Pick("DI1", du=130, roll_du=21), Size(dv01=8_000, lot=5)),
    Slot("ltn-short", "rates-br", Pick("LTN_", du=800, roll_du=120), Size(units=40_000, lot=100)),
    Slot("ltn-long", "rates-br", Pick("LTN_", du=1800, roll_du=120), Size(units=25_000, lot=100)),
    # --- Inflation: DAP, NTN-B, and a DI1 paid against the short NTN-B (long breakeven) -----
    Slot(
        "dap-2y", "inflation", Pick("DAP", du=500, months=_MAY, roll_du=126), Size(units=400, lot=5)
    ),
    Slot(
        "dap-far",
        "inflation",
        Pick("DAP", du=1250, months=_MAY, roll_du=150),
        Size(units=150, lot=5),
    ),
    Slot(
        "dap-front", "inflation", Pick("DAP", du=60, months=_DAP_QUARTERLY), Size(units=200, lot=5)
    ),
    Slot(
        "ntnb-short", "inflation", Pick("NTNB_", du=900, roll_du=120), Size(units=10_000, lot=100)
    ),
    Slot(
        "ntnb-mid",
        "inflation",
        Pick("NTNB_", du=2300, roll_du=120),
        Size(units=12_000, lot=100),
        thesis="Own real yields above 6 %: IPCA plus a real carry that history rarely offers.",
        stop=0.04,
        target=0.08,
    ),
    Slot("ntnb-long", "inflation", Pick("NTNB_", du=4800, roll_du=120), Size(units=5_000, lot=100)),
    Slot(
        "di1-breakeven",
        "inflation",
        Pick("DI1", du=1000, months=_JAN, roll_du=500),
        Size(dv01=12_000, lot=5),
    ),
    # --- FX: dollar futures, a tactical mini dollar, FX coupon ---------------------------------
    Slot(
        "dol",
        "fx",
        Pick("DOL"),
        Size(units=150, lot=5),
        thesis="Short USD/BRL for the carry: the CDI pays far more than the dollar coupon.",
        stop=0.04,
        target=0.07,
    ),
    Slot("wdo-tactical", "fx", Pick("WDO"), Size(units=400, lot=5)),
    Slot("ddi", "fx", Pick("DDI", du=250, months=_JAN, roll_du=5), Size(units=100, lot=5)),
    # --- Equities BR: index future, tactical mini index, the ETF, an S&P beta hedge ---------
    Slot(
        "ind",
        "equities",
        Pick("IND"),
        Size(units=200, lot=5),
        thesis="Long Brazil: earnings revisions turning up, foreign positioning light.",
        stop=0.06,
        target=0.12,
    ),
    Slot("win-tactical", "equities", Pick("WIN"), Size(units=1_000, lot=5)),
    Slot("bova11", "equities", Pick("BOVA11"), Size(units=400_000, lot=100)),
    Slot("es-hedge", "equities", Pick("ES", months="HMUZ"), Size(units=20)),
    # --- Offshore: S&P and 10-year Treasury futures --------------------------------------------
    Slot(
        "es",
        "offshore",
        Pick("ES", months="HMUZ"),
        Size(units=50),
        thesis="Long S&P 500 as the global growth leg of the book.",
        stop=0.07,
        target=0.10,
    ),
    Slot("zn", "offshore", Pick("ZN", months="HMUZ"), Size(units=200)),
)

# offset -> [(slot, action, fraction)]; actions: BUY/SELL open a full position, "add" and
# "cut" change it by a fraction, "close" and "flip" do what they say.
EVENTS: dict[int, list[tuple[str, str, float]]] = {
    0: [
        ("di1-1y", "BUY", 1),
        ("di1-3y", "SELL", 1),
        ("di1-5y", "BUY", 1),
        ("ltn-short", "BUY", 1),
        ("dap-2y", "BUY", 1),
        ("ntnb-mid", "BUY", 1),
        ("dol", "SELL", 1),
        ("ind", "BUY", 1),
        ("bova11", "BUY", 1),
        ("es", "BUY", 1),
        ("zn", "SELL", 1),
    ],
    1: [("di1-front", "SELL", 1), ("ntnb-long", "BUY", 1)],
    5: [("di1-2y", "BUY", 1)],
    15: [("ntnb-short", "BUY", 1), ("di1-breakeven", "SELL", 1)],
    30: [("ddi", "SELL", 1)],
    40: [("di1-1y", "add", 0.3), ("bova11", "add", 0.25)],
    60: [("es-hedge", "SELL", 1)],
    64: [("di1-3y", "add", 0.2), ("ntnb-mid", "add", 0.2), ("ind", "add", 0.2)],
    100: [("zn", "cut", 0.4)],
    120: [("di1-1y", "cut", 0.4)],
    150: [("di1-2y", "flip", 1)],
    170: [("dol", "cut", 0.3)],
    190: [("bova11", "cut", 0.3), ("di1-5y", "cut", 0.2), ("ltn-short", "cut", 0.25)],
    200: [("di1-long", "SELL", 1), ("dap-far", "BUY", 1)],
    230: [("ntnb-long", "close", 1)],
    260: [("di1-copom", "BUY", 1)],
    300: [("ltn-long", "BUY", 1)],
    330: [("ddi", "close", 1)],
    350: [("dap-front", "SELL", 1)],
    380: [("di1-copom", "close", 1)],
    400: [("ntnb-long", "BUY", 1)],
    420: [("zn", "add", 0.5)],
    450: [("di1-2y", "flip", 1)],
    505: [("dol", "add", 0.3), ("di1-front", "add", 0.25), ("es", "add", 0.25)],
    520: [("ddi", "SELL", 1)],
    560: [("ind", "cut", 0.25)],
    600: [("di1-copom", "BUY", 1)],
    640: [("bova11", "add", 0.2)],
}

# offset -> [(kind, amount in R$, note)]
FLOWS: dict[int, list[tuple[str, str, str]]] = {
    63: [("SUBSCRIPTION", "60000000.00", "Subscription: family office allocation")],
    189: [("REDEMPTION", "35000000.00", "Redemption: platform rebalancing")],
    504: [("SUBSCRIPTION", "50000000.00", "Subscription: pension fund mandate")],
}

TACTICAL: dict[str, Fade] = {
    "wdo-tactical": Fade("PTAX", lookback=20, threshold=0.015),
    "win-tactical": Fade("BOVA11", lookback=20, threshold=0.02),
}

FLAGSHIP = Script(STRATEGIES, SLOTS, EVENTS, FLOWS, TACTICAL)
