from django.urls import path

from apps.ops import views

app_name = "ops"

urlpatterns = [
    path("pipelines/", views.pipelines, name="pipelines"),
    path("pipelines/run/", views.pipeline_run_now, name="run_now"),
    path("pipelines/<int:pk>/rerun/", views.pipeline_rerun, name="rerun"),
]
