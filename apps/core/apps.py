from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The ground floor: what every other app builds on. It imports no other app."""

    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import user_facts
        from apps.core.roles import load_role_names, sync_role_permissions

        user_facts.register("roles", load_role_names)
        user_facts.connect()
        post_migrate.connect(sync_role_permissions, dispatch_uid="core_sync_role_permissions")
