from __future__ import annotations

from django.urls import path, re_path

from mlservice import api, views

service = "workspaces/<str:workspace_id>/services/<str:service_id>"

urlpatterns = [
    path(f"{service}/execute", api.execute, name="mlservice-execute"),
    path(f"{service}/swagger.json", api.swagger, name="mlservice-swagger"),
    path(f"{service}/jobs", api.jobs, name="mlservice-jobs"),
    path(f"{service}/jobs/<str:job_id>", api.job, name="mlservice-job"),
    path(f"{service}/jobs/<str:job_id>/start", api.start_job, name="mlservice-start-job"),
    re_path(r"^workspaces/(?P<rest>.*)$", api.unknown_endpoint),
    path("", views.service_list, name="mlservice-services"),
    path("services/<str:service_id>/", views.service_detail, name="mlservice-service"),
    path("services/<str:service_id>/keys", views.reveal_keys, name="mlservice-keys"),
    path("services/<str:service_id>/test", views.test_service, name="mlservice-test"),
    path("services/<str:service_id>/rrs/", views.rrs_help, name="mlservice-rrs-help"),
    path("services/<str:service_id>/bes/", views.bes_help, name="mlservice-bes-help"),
]
