from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "apps.risk"
    label = "risk"
    verbose_name = "Risk"

    def ready(self) -> None:
        # Importing the read models registers their cache warmers (`apps.core.cache.warm`).
        from apps.risk import queries, signals  # noqa: F401

        signals.connect()
