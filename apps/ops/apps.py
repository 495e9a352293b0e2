from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.ops.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="ops_sync_role_permissions")
