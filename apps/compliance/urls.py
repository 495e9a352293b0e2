from django.urls import path

from apps.compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.page, name="page"),
    path("recompute/", views.recompute, name="recompute"),
    path("breaches/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
