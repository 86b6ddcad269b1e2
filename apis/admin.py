from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apis.models import Api, Operation, Parameter, Product, RequestRepresentation, Response, ResponseRepresentation
from portal.adminforms import LabelledInlineFormSet

admin.site.site_header = "Portico administration"
admin.site.site_title = "Portico"
admin.site.index_title = "Publisher"


class OperationInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Operation
    fields = ["order", "method", "url_template", "display_name", "console_enabled"]
    extra = 1
    show_change_link = True


class ProductApiInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Api.products.through
    extra = 1
    verbose_name = "API"
    verbose_name_plural = "APIs in this product"
    # A raw id with its lookup, not select2's autocomplete: select2's box has no accessible name.
    raw_id_fields = ["api"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "published", "approval_required", "rate_limit", "quota", "api_count"]
    list_filter = ["published", "approval_required", "subscription_required"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [ProductApiInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "order"]}),
        ("Access", {"fields": ["published", "subscription_required", "approval_required"]}),
        ("Limits", {"fields": [("rate_limit_calls", "rate_limit_period"), ("quota_calls", "quota_period")]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(api_count=Count("apis"))

    @admin.display(description="APIs", ordering="api_count")
    def api_count(self, obj: Product) -> int:
        return obj.api_count

    @admin.display(description="Rate limit")
    def rate_limit(self, obj: Product) -> str:
        return f"{obj.rate_limit_calls} / {obj.rate_limit_period} s" if obj.has_rate_limit else "—"

    @admin.display(description="Quota")
    def quota(self, obj: Product) -> str:
        return f"{obj.quota_calls} / {obj.quota_period} s" if obj.has_quota else "—"


@admin.register(Api)
class ApiAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "path",
        "service_url",
        "published",
        "subscription_required",
        "operation_count",
        "portal_link",
    ]
    list_filter = ["published", "subscription_required", "url_schemes", "products"]
    search_fields = ["name", "path", "description", "service_url"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OperationInline]
    # Products as checkboxes: a site has a few, and filter_horizontal's widget
    # puts an aria-label on a bare <span>, which axe-core counts as serious.
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
    }
    fieldsets = [
        (None, {"fields": ["name", "slug", "description"]}),
        ("Web service", {"fields": ["service_url", "path", "url_schemes"]}),
        ("Access", {"fields": ["products", "subscription_required", "published", "console_enabled"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(operation_count=Count("operations"))

    @admin.display(description="Operations", ordering="operation_count")
    def operation_count(self, obj: Api) -> int:
        return obj.operation_count

    @admin.display(description="Portal")
    def portal_link(self, obj: Api) -> str:
        return format_html('<a href="{}">view</a>', obj.get_absolute_url())


class ParameterInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Parameter
    fields = ["name", "location", "description", "type", "default_value", "allowed_values", "required"]
    extra = 0
    verbose_name_plural = "Parameters (template and query ones follow the URL template; add request headers here)"


class RequestRepresentationInline(admin.StackedInline):
    model = RequestRepresentation
    extra = 0


class ResponseInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Response
    extra = 0
    show_change_link = True
    verbose_name_plural = "Responses (open one to add its representations)"


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["display_name", "method", "url_template", "api", "order", "console_enabled"]
    list_filter = ["method", "console_enabled", "api"]
    list_select_related = ["api"]
    search_fields = ["display_name", "url_template", "description", "api__name"]
    ordering = ["api__name", "order", "id"]
    autocomplete_fields = ["api"]
    inlines = [ParameterInline, RequestRepresentationInline, ResponseInline]
    actions = ["add_ok_responses"]
    fields = ["api", ("method", "url_template"), ("display_name", "slug"), "description", ("order", "console_enabled")]
    change_form_template = "admin/apis/operation/change_form.html"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The inline forms were built from the parameters before the template
        # changed; bring the set back in line with the saved template.
        form.instance.sync_parameters()

    @admin.action(description="Add a 200 OK response")
    def add_ok_responses(self, request: HttpRequest, queryset) -> None:
        for operation in queryset:
            operation.add_ok_response()
        self.message_user(request, f"Each of the {len(queryset)} operations has a 200 OK response.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:pk>/add-200-ok/",
                self.admin_site.admin_view(require_POST(self.add_ok_view)),
                name="apis_operation_add_ok",
            )
        ] + super().get_urls()

    def add_ok_view(self, request: HttpRequest, pk: int):
        operation = get_object_or_404(Operation, pk=pk)
        if not self.has_change_permission(request, operation):
            return HttpResponseRedirect(reverse("admin:index"))
        operation.add_ok_response()
        self.message_user(request, "The operation has a 200 OK response.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:apis_operation_change", args=[pk]))


class ResponseRepresentationInline(admin.StackedInline):
    model = ResponseRepresentation
    extra = 1


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["operation", "status_code", "description"]
    list_select_related = ["operation__api"]
    search_fields = ["operation__display_name", "description"]
    autocomplete_fields = ["operation"]
    inlines = [ResponseRepresentationInline]
