from django.apps import AppConfig


class BriefingsConfig(AppConfig):
    name = "apps.briefings"
    label = "briefings"
    verbose_name = "Morning pack"

    def ready(self) -> None:
        # Importing the read models registers their cache warmers (`apps.core.cache.warm`).
        from apps.briefings import queries, signals  # noqa: F401

        signals.connect()
