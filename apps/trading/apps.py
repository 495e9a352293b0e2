from django.apps import AppConfig


class TradingConfig(AppConfig):
    """Every entry point that books a trade (page, API, admin, a proposal's execution) and the
    one service they call; `positions` keeps the ledger it writes to."""

    name = "apps.trading"
    label = "trading"
    verbose_name = "Trading"
