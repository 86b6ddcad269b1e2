from __future__ import annotations

from django.contrib import admin

from gateway.models import Call


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["created", "method", "path", "status", "outcome", "total_ms", "subscription", "client_ip"]
    list_filter = ["outcome", "api", "product"]
    search_fields = ["request_id", "path"]
    date_hierarchy = "created"
    list_select_related = ["subscription"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
