from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from subscriptions import services
from subscriptions.models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "product", "state", "created", "started"]
    list_filter = ["state", "product"]
    search_fields = ["name", "user__username", "user__email"]
    list_select_related = ["user", "product"]
    raw_id_fields = ["user"]
    # Keys are never shown here: the owner sees them on their profile.
    fields = ["user", "product", "name", "state", "created", "started", "ended"]
    readonly_fields = ["created", "started", "ended"]
    actions = ["approve", "suspend", "reactivate"]

    @admin.action(description="Approve selected submitted subscriptions (e-mails the developer)")
    def approve(self, request, queryset):
        self._change_state(request, queryset, Subscription.SUBMITTED, services.approve, "approved")

    @admin.action(description="Suspend selected active subscriptions")
    def suspend(self, request, queryset):
        self._change_state(request, queryset, Subscription.ACTIVE, Subscription.suspend, "suspended")

    @admin.action(description="Reactivate selected suspended subscriptions")
    def reactivate(self, request, queryset):
        self._change_state(request, queryset, Subscription.SUSPENDED, Subscription.reactivate, "reactivated")

    def _change_state(self, request, queryset, state: str, change, done_verb: str) -> None:
        # Only the selected subscriptions in the state the action applies to.
        selected = list(queryset.filter(state=state).select_related("user", "product"))
        for subscription in selected:
            change(subscription)
        self.message_user(request, f"{len(selected)} subscription(s) {done_verb}.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        # Activating in the form counts as the start of the quota too, and
        # approving a submitted subscription there tells its owner as the
        # action does.
        approved = change and form.initial.get("state") == Subscription.SUBMITTED and obj.state == Subscription.ACTIVE
        if obj.state == Subscription.ACTIVE and not obj.started:
            obj.started = timezone.now()
        super().save_model(request, obj, form, change)
        if approved:
            services.notify_approved(obj)
