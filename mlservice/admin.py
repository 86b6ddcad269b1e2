from __future__ import annotations

from django.contrib import admin

from mlservice.models import BatchJob, WebService


@admin.register(WebService)
class WebServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace_id", "service_id", "target_column", "bits", "ngrams", "created"]
    search_fields = ["name", "workspace_id", "service_id"]
    readonly_fields = ["created"]
    fieldsets = [
        (None, {"fields": ["name", "description", "workspace_id", "service_id", "created"]}),
        ("Feature Hashing", {"fields": ["target_column", "bits", "ngrams"]}),
        ("API keys", {"fields": ["primary_key", "secondary_key"], "classes": ["collapse"]}),
    ]


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ["job_id", "service", "state", "rows", "created", "started", "ended", "attempts"]
    list_filter = ["state", "service"]
    search_fields = ["job_id"]
    # The blob references hold storage credentials: not shown.
    exclude = ["refs"]
    readonly_fields = [
        "service",
        "job_id",
        "state",
        "global_parameters",
        "details",
        "results",
        "rows",
        "created",
        "started",
        "ended",
        "claimed_by",
        "lease_expires",
        "heartbeat",
        "attempts",
    ]

    def has_add_permission(self, request) -> bool:
        return False
