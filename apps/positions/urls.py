from django.urls import path

from apps.positions import views

app_name = "positions"

urlpatterns = [
    path("", views.book, name="book"),
    path("position/<int:pk>/", views.position, name="position"),
    path("position/<int:pk>/plan/", views.position_plan, name="plan"),
    path("trade/new/", views.trade_new, name="trade_new"),
    path("trade/<int:pk>/reverse/", views.trade_reverse, name="reverse"),
]
