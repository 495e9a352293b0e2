from django.urls import path

from apps.marketdata import views

app_name = "marketdata"

urlpatterns = [
    path("", views.overview, name="overview"),
]
