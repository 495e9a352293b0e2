from django.urls import path

from apps.proposals import views

app_name = "proposals"

urlpatterns = [
    path("", views.blotter, name="blotter"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/modify/", views.modify, name="modify"),
    path("<int:pk>/execute/", views.execute, name="execute"),
    path("<int:pk>/note/", views.note, name="note"),
    path("<int:pk>/what-if/", views.remeasure, name="remeasure"),
]
