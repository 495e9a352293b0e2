"""Deterministic synthetic market for the embedded demo and the benchmarks.

`generate_market(start, end, seed=...)` (Django-free) simulates the drivers (paths.py), lists
contracts the way B3 does (catalog.py), turns factors into rates (curves.py, inflation.py) and
prices every row with `marketdata.pricing`. `store.store_demo_market` writes the rows.
"""

from apps.demo.market.generator import generate_market
from apps.demo.market.rows import DemoFixing, DemoMarket, DemoPrice

__all__ = ["DemoFixing", "DemoMarket", "DemoPrice", "generate_market"]
