from django.apps import AppConfig


class ProposalsConfig(AppConfig):
    name = "apps.proposals"
    label = "proposals"
    verbose_name = "Trade proposals"

    def ready(self) -> None:
        from apps.proposals import signals

        signals.connect()
