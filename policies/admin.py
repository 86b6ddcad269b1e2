"""Policies in Django admin: a document on each scope's own page (product,
API, operation), the global one and the named values on their own pages, and
"what runs for this operation": the effective, merged document."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from apis.models import Api, Operation, Product
from policies import effective
from policies.models import NamedValue, Policy

DOCUMENT_WIDGET = forms.Textarea(attrs={"rows": 18, "cols": 100, "spellcheck": "false", "class": "vLargeTextField"})


class PolicyInline(admin.StackedInline):
    model = Policy
    fields = ["document"]
    extra = 1
    max_num = 1
    verbose_name = "policy"
    verbose_name_plural = "policy"
    formfield_overrides = {Policy._meta.get_field("document").__class__: {"widget": DOCUMENT_WIDGET}}


# The catalog's admin pages stay in apis/admin.py; this app adds its editor
# to them here, so that the catalog does not depend on policies.
for model in (Product, Api, Operation):
    model_admin = admin.site._registry[model]
    model_admin.inlines = [*model_admin.inlines, PolicyInline]


class GlobalPolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = ["document"]
        widgets = {"document": DOCUMENT_WIDGET}


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Every stored document; the global one is added and edited here."""

    list_display = ["__str__", "updated"]
    list_filter = ["scope"]
    form = GlobalPolicyForm

    def get_urls(self):
        return [
            path(
                "effective/<int:operation_id>/",
                self.admin_site.admin_view(self.effective_view),
                name="policies_effective",
            )
        ] + super().get_urls()

    def has_add_permission(self, request):
        # Only the global document is added here; the others on their scope's page.
        return super().has_add_permission(request) and not Policy.objects.filter(scope=Policy.GLOBAL).exists()

    def effective_view(self, request, operation_id: int):
        operation = get_object_or_404(Operation.objects.select_related("api"), pk=operation_id)
        products = list(operation.api.products.all())
        chosen = None
        if request.GET.get("product"):
            chosen = next((p for p in products if str(p.pk) == request.GET["product"]), None)
        elif products:
            chosen = products[0]
        text, problem = effective.document_for(operation, chosen)
        context = {
            **self.admin_site.each_context(request),
            "title": f"What runs for {operation.display_name}",
            "operation": operation,
            "products": products,
            "chosen": chosen,
            "document": text,
            "problem": problem,
            "opts": Policy._meta,
        }
        return render(request, "admin/policies/effective.html", context)


def effective_link(obj: Operation) -> str:
    if not obj.pk:
        return "—"
    url = reverse("admin:policies_effective", args=[obj.pk])
    return format_html('<a href="{}">What runs for this operation</a>', url)


effective_link.short_description = "Policies"  # type: ignore[attr-defined]
operation_admin = admin.site._registry[Operation]
operation_admin.readonly_fields = [*operation_admin.readonly_fields, effective_link]
operation_admin.fields = [*operation_admin.fields, effective_link]


class NamedValueForm(forms.ModelForm):
    value = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80, "autocomplete": "off"}),
        help_text="A secret's value is never shown again: leave this empty to keep it.",
    )

    class Meta:
        model = NamedValue
        fields = ["name", "secret"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk and not instance.secret:
            self.initial["value"] = instance.value
        if instance.pk and instance.secret:
            self.fields["value"].widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            )

    def clean(self):
        data = super().clean()
        keeping = self.instance.pk and self.instance.secret and not data.get("value")
        if keeping and not data.get("secret"):
            self.add_error("value", "Type the value again to stop keeping it secret.")
        return data

    def save(self, commit=True):
        instance = super().save(commit=False)
        value = self.cleaned_data.get("value") or ""
        was_secret = NamedValue.objects.filter(pk=instance.pk, secret=True).exists() if instance.pk else False
        if not (was_secret and instance.secret and value == ""):
            instance.set_value(value)
        if commit:
            instance.save()
        return instance


@admin.register(NamedValue)
class NamedValueAdmin(admin.ModelAdmin):
    form = NamedValueForm
    list_display = ["name", "secret", "shown_value", "updated"]
    search_fields = ["name"]
    fields = ["name", "secret", "value"]

    @admin.display(description="Value")
    def shown_value(self, obj: NamedValue) -> str:
        return obj.shown
