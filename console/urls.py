from django.urls import path

from console import views

urlpatterns = [
    path("<int:operation_id>/", views.console_page, name="console-page"),
    path("<int:operation_id>/form/", views.console_form, name="console-form"),
    path("<int:operation_id>/preview/", views.console_preview, name="console-preview"),
    path("<int:operation_id>/send/", views.console_send, name="console-send"),
    path("sends/<int:pk>/load/", views.history_load, name="console-load"),
    path("sends/<int:pk>/body/", views.send_body, name="console-body"),
    path("sends/<int:pk>/call/", views.send_call, name="console-call"),
]
