from django.urls import path

from apps.briefings import views

app_name = "briefings"

urlpatterns = [
    path("", views.latest, name="latest"),
    path("<str:day>/", views.day, name="day"),
    path("<str:day>/generate/", views.generate, name="generate"),
    path("<str:day>/pdf/", views.pack_pdf, name="pdf"),
]
