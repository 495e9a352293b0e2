from django.urls import path

from apps.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.monitor, name="monitor"),
    path("compute/", views.compute, name="compute"),
    path("recompute/", views.recompute, name="recompute"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
