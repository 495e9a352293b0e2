"""Trade entry and reversal, the override requests and the what-if sandbox, under /book/ as
before (included beside positions' URLs)."""

from django.urls import path

from apps.trading import views

app_name = "trading"

urlpatterns = [
    path("trade/new/", views.trade_new, name="trade_new"),
    path("trade/<int:pk>/reverse/", views.trade_reverse, name="reverse"),
    path("overrides/", views.override_list, name="overrides"),
    path(
        "overrides/<int:pk>/grant/",
        views.override_decide,
        {"decision": "grant"},
        name="override_grant",
    ),
    path(
        "overrides/<int:pk>/decline/",
        views.override_decide,
        {"decision": "decline"},
        name="override_decline",
    ),
    path("sandbox/", views.sandbox, name="sandbox"),
]
