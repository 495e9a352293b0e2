from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        import apps.ops.tasks  # noqa: F401  (registered in every process: see below)
        from apps.core.middleware import register_probe
        from apps.ops import signals, views

        # The tasks are registered in every process, not only in workers: a write publishes
        # the read-model refresh by name (apps.core.cache.REFRESH_TASK), eagerly without a broker.
        signals.connect()
        register_probe("/health", views.health)
        register_probe("/ready", views.ready)
        # Scraped on the internal network (compose: web:8000), so before the host check and the
        # HTTPS redirect too; the bearer token (METRICS_TOKEN) guards it.
        register_probe("/metrics", views.metrics)

        post_migrate.connect(load_reference_data, dispatch_uid="ops_load_reference_data")
        _register_metrics()


def _register_metrics() -> None:
    """The state collector in this process's registry (served when not under gunicorn's
    multiprocess mode, which builds its own registry per scrape: apps.ops.metrics.registry)."""
    from prometheus_client import REGISTRY

    from apps.ops.metrics import StateCollector

    if not any(isinstance(c, StateCollector) for c in list(REGISTRY._collector_to_names)):
        REGISTRY.register(StateCollector())


def load_reference_data(sender: Any = None, **kwargs: Any) -> None:
    """Reference rows a flush removes (tests, restores): re-create the missing ones."""
    from apps.briefings.calendar_seed import ensure_market_calendar
    from apps.risk.stress_library import ensure_stress_library

    if getattr(sender, "label", None) != "ops":
        return  # post_migrate fires once per app; once is enough
    from apps.core.models import DataVersion

    ensure_stress_library()
    ensure_market_calendar()
    for scope in ("market", "pipelines"):  # a write then costs one UPDATE
        DataVersion.objects.get_or_create(scope=scope)
