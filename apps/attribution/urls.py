from django.urls import path

from apps.attribution import views

app_name = "attribution"

urlpatterns = [
    path("", views.page, name="page"),
]
