"""Demo Macro FIM: a R$ 500 million global-macro fund traded over the demo market.

`plan.py` decides the trades (Django-free, deterministic from the seed), `book.py` holds the
fund's slots and script, `seed.py` is the `seed_demo` step that records them through the book's
services and marks every day with the MTM engine.
"""

from apps.demo.fund.seed import seed_fund

__all__ = ["seed_fund"]
