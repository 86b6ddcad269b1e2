from django.urls import path

from console import batch_views, views

urlpatterns = [
    path("<int:operation_id>/", views.console_page, name="console-page"),
    path("<int:operation_id>/form/", views.console_form, name="console-form"),
    path("<int:operation_id>/preview/", views.console_preview, name="console-preview"),
    path("<int:operation_id>/send/", views.console_send, name="console-send"),
    path("sends/<int:pk>/load/", views.history_load, name="console-load"),
    path("sends/<int:pk>/body/", views.send_body, name="console-body"),
    path("sends/<int:pk>/call/", views.send_call, name="console-call"),
    path("batch/<int:api_id>/submit/", batch_views.batch_submit, name="console-batch-submit"),
    path("batch/runs/<int:pk>/", batch_views.batch_status, name="console-batch-status"),
    path("batch/runs/<int:pk>/delete/", batch_views.batch_delete, name="console-batch-delete"),
]
