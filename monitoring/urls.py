from django.urls import path

from monitoring import views

urlpatterns = [
    path("", views.dashboard, name="monitoring-dashboard"),
    path("export.csv", views.export_csv, name="monitoring-export"),
    path("calls/<int:call_id>/", views.call_detail, name="monitoring-call"),
    path("usage/", views.usage, name="monitoring-usage"),
]
