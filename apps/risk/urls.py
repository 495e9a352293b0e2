from django.urls import path

from apps.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.monitor, name="monitor"),
    path("compute/", views.compute, name="compute"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
