"""Deterministic synthetic market for the embedded demo and the benchmarks.

`generate_market(start, end, seed=...)` (Django-free) simulates the drivers (paths.py), lists
contracts the way B3 does (catalog.py), turns factors into rates (curves.py, inflation.py) and
prices every row with `marketdata.pricing`. `store.store_demo_market` writes the rows.
"""

from apps.marketdata.demo.generator import generate_market
from apps.marketdata.demo.rows import DemoFixing, DemoMarket, DemoPrice

__all__ = ["DemoFixing", "DemoMarket", "DemoPrice", "generate_market"]
