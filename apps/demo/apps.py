from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The embedded demo: seeds users, a synthetic market and a fund. No models."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo"
