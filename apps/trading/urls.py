"""Trade entry and reversal, under /book/ as before (included beside positions' URLs)."""

from django.urls import path

from apps.trading import views

app_name = "trading"

urlpatterns = [
    path("trade/new/", views.trade_new, name="trade_new"),
    path("trade/<int:pk>/reverse/", views.trade_reverse, name="reverse"),
]
