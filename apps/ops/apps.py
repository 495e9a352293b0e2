from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.ops.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="ops_sync_role_permissions")
        _register_metrics()


def _register_metrics() -> None:
    from prometheus_client import REGISTRY

    from apps.ops.metrics import PmsCollector

    if not any(isinstance(c, PmsCollector) for c in list(REGISTRY._collector_to_names)):
        REGISTRY.register(PmsCollector())
