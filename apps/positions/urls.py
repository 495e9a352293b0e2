from django.urls import path

from apps.positions import views

app_name = "positions"

urlpatterns = [
    path("", views.book, name="book"),
    path("position/<int:pk>/", views.position, name="position"),
    path("position/<int:pk>/plan/", views.position_plan, name="plan"),
]
