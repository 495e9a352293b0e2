"""Cache invalidation only: a limit, alert or risk snapshot change bumps its portfolio's data
version (see `apps.core.cache`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.core.cache import bump
from apps.risk.models import Alert, IntradayRisk, Limit, RiskSnapshot

RISK_MODELS = (Limit, Alert, RiskSnapshot, IntradayRisk)


def flush_risk(sender: type, instance: Any, **kwargs: Any) -> None:
    """A limit, an alert (raised, acknowledged) or a snapshot changed: its portfolio's."""
    bump(instance.portfolio_id)


def connect() -> None:
    for model in RISK_MODELS:
        for signal, when in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(
                flush_risk, sender=model, dispatch_uid=f"flush_risk_{model.__name__}_{when}"
            )
