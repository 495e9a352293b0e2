from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: what every other app builds on. It imports no other app."""

    name = "apps.core"
    label = "core"
    verbose_name = "Core"
