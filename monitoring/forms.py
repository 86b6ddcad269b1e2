from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from apis.models import Api, Operation, Product
from gateway.models import Call
from monitoring import analytics
from subscriptions.models import Subscription

RANGES = [
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Custom"),
]
DELTAS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_RANGE = "24h"
# Far-off years are typos; they would also overflow the chart's bucket arithmetic.
EARLIEST, LATEST = 2000, 2999
LOCAL_INPUT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class OperationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Operation) -> str:
        return f"{obj.api.name} · {obj.display_name}"


class SubscriptionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Subscription) -> str:
        return f"{obj.name} ({obj.user.get_username()}, {obj.product.name})"


class DeveloperChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_username()


class DashboardForm(forms.Form):
    range = forms.ChoiceField(choices=RANGES, required=False, initial=DEFAULT_RANGE, label="Time range")
    start = forms.DateTimeField(
        required=False,
        input_formats=LOCAL_INPUT,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    end = forms.DateTimeField(
        required=False,
        input_formats=LOCAL_INPUT,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    api = forms.ModelChoiceField(Api.objects.all(), required=False, empty_label="All APIs", label="API")
    operation = OperationChoice(
        Operation.objects.select_related("api").order_by("api__name", "order", "id"),
        required=False,
        empty_label="All operations",
    )
    product = forms.ModelChoiceField(Product.objects.all(), required=False, empty_label="All products")
    subscription = SubscriptionChoice(
        Subscription.objects.select_related("user", "product").order_by("name", "id"),
        required=False,
        empty_label="All subscriptions",
    )
    developer = DeveloperChoice(analytics.developers(), required=False, empty_label="All developers")
    outcome = forms.ChoiceField(choices=[("", "All outcomes"), *Call.OUTCOMES], required=False)

    def clean(self):
        data = super().clean()
        preset = data.get("range") or ""
        start, end = data.get("start"), data.get("end")
        if not preset and (start or end):
            preset = "custom"
        preset = preset or DEFAULT_RANGE
        data["range"] = preset
        if preset == "custom":
            if "start" in self.errors or "end" in self.errors:
                return data
            now = timezone.now()
            if start is None:
                self.add_error("start", "Give the start of the custom range.")
                return data
            end = end or now
            if not (EARLIEST <= start.year and end.year <= LATEST):
                self.add_error(
                    "start" if start.year < EARLIEST else "end", f"Pick dates between {EARLIEST} and {LATEST}."
                )
            elif end <= start:
                self.add_error("end", "The end must be after the start.")
            elif end - start > analytics.MAX_RANGE:
                self.add_error("end", f"The range is too long: at most {analytics.MAX_RANGE.days} days.")
            data["start"], data["end"] = start, end
        else:
            data["end"] = timezone.now()
            data["start"] = data["end"] - DELTAS[preset]
            if DELTAS[preset] > analytics.RAW_MAX:
                # Charts of these ranges have hourly bars: start on the hour so
                # the first bar is a whole hour like the others.
                data["start"] = analytics.floor_to(data["start"], 3600)
        api, operation = data.get("api"), data.get("operation")
        if api and operation and operation.api_id != api.pk:
            self.add_error("operation", f"This operation is not part of {api.name}.")
        return data

    def filters(self) -> analytics.Filters:
        d = self.cleaned_data
        return analytics.Filters(
            start=d["start"],
            end=d["end"],
            api_id=d["api"].pk if d.get("api") else None,
            operation_id=d["operation"].pk if d.get("operation") else None,
            product_id=d["product"].pk if d.get("product") else None,
            subscription_id=d["subscription"].pk if d.get("subscription") else None,
            user_id=d["developer"].pk if d.get("developer") else None,
            outcome=d.get("outcome") or None,
        )
