from django.urls import path

from apps.positions import intraday_views, views

app_name = "positions"

urlpatterns = [
    path("", views.book, name="book"),
    path("position/<int:pk>/", views.position, name="position"),
    path("position/<int:pk>/plan/", views.position_plan, name="plan"),
    path("intraday/", intraday_views.grid, name="intraday_grid"),
    path("intraday/upload/", intraday_views.upload, name="intraday_upload"),
]
