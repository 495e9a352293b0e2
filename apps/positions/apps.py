from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "apps.positions"
    label = "positions"
    verbose_name = "Position book"

    def ready(self) -> None:
        # Importing the read models registers their cache warmers (`apps.core.cache.warm`).
        from apps.core import user_facts
        from apps.positions import access, queries, remarks, signals  # noqa: F401

        signals.connect()
        signals.connect_grants()
        remarks.connect()
        user_facts.register("funds", access.load_fund_ids)
