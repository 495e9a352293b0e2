from django.apps import AppConfig


class FirmConfig(AppConfig):
    """The firm view: every fund a user may see, added up (book, P&L) and revalued together
    (risk); above risk and attribution, below trading."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.firm"
    label = "firm"
