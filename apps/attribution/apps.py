from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "apps.attribution"
    label = "attribution"
    verbose_name = "Performance and attribution"

    def ready(self) -> None:
        # Importing the read model registers its cache warmer (`apps.core.cache.warm`).
        from apps.attribution import queries  # noqa: F401
