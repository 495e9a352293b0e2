from django.urls import path

from apps.proposals import journal_views as views

app_name = "journal"

urlpatterns = [
    path("", views.entries, name="list"),
    path("notes/", views.add_note, name="add_note"),
]
