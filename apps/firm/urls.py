from django.urls import path

from apps.firm import views

app_name = "firm"

urlpatterns = [path("", views.page, name="page")]
