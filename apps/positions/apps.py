from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "apps.positions"
    label = "positions"
    verbose_name = "Position book"

    def ready(self) -> None:
        # Importing the read models registers their cache warmers (`apps.core.cache.warm`).
        from apps.positions import queries, signals  # noqa: F401

        signals.connect()
