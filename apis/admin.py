from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import models
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apis import importing, openapi
from apis.forms import ImportForm
from apis.models import Api, Operation, Parameter, Product, RequestRepresentation, Response, ResponseRepresentation
from portal.adminforms import LabelledInlineFormSet

# How long a previewed document waits for "Apply", in the shared cache.
IMPORT_PREVIEW_SECONDS = 3600

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

    change_list_template = "admin/apis/api/change_list.html"
    change_form_template = "admin/apis/api/change_form.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="apis_api_import"),
            path("<int:pk>/import/", view(self.import_view), name="apis_api_import_into"),
        ] + super().get_urls()

    def import_view(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        """Upload or paste a document, preview what it changes, then apply it."""
        api = get_object_or_404(Api, pk=pk) if pk is not None else None
        if not (self.has_change_permission(request, api) if api else self.has_add_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return self.render_import(request, api, ImportForm(api=api))
        try:
            form = ImportForm(request.POST, request.FILES, api=api)
        except RequestDataTooBig:
            error = "Pasted text is limited to 2.5 MB: upload the document as a file instead."
            return self.render_import(request, api, ImportForm(api=api), error=error)
        token = request.POST.get("token", "")
        if token:
            return self.apply_import(request, api, token)
        if not form.is_valid():
            return self.render_import(request, api, form)
        options = form.options()
        try:
            report = self.run_import(form.cleaned_data["document"], api, options, dry_run=True)
        except openapi.DocumentError as e:
            form.add_error(None, str(e))
            return self.render_import(request, api, form)
        token = secrets.token_urlsafe(16)
        cache.set(
            self.preview_key(request, token),
            {"document": form.cleaned_data["document"], "options": options},
            IMPORT_PREVIEW_SECONDS,
        )
        return self.render_import(request, api, form, report=report, token=token)

    def apply_import(self, request: HttpRequest, api: Api | None, token: str) -> HttpResponse:
        preview = cache.get(self.preview_key(request, token))
        form = ImportForm(api=api)
        if preview is None:
            error = "This preview has expired or was applied already: import the document again."
            return self.render_import(request, api, form, error=error)
        try:
            report = self.run_import(preview["document"], api, preview["options"], dry_run=False)
        except openapi.DocumentError as e:
            # The catalog changed since the preview in a way the document cannot follow.
            return self.render_import(request, api, form, error=str(e))
        cache.delete(self.preview_key(request, token))
        self.message_user(request, f"Imported. {report.summary}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:apis_api_change", args=[report.api.pk]))

    @staticmethod
    def preview_key(request: HttpRequest, token: str) -> str:
        return f"openapi-import:{request.user.pk}:{token}"

    @staticmethod
    def run_import(document: bytes, api: Api | None, options: dict, *, dry_run: bool) -> importing.Report:
        return importing.import_document(
            document,
            api=api,
            name=options["name"],
            suffix=options["suffix"],
            service_url=options["service_url"],
            products=list(Product.objects.filter(pk__in=options["products"])),
            publish=options["publish"],
            dry_run=dry_run,
        )

    def render_import(self, request, api, form, report=None, token="", error="") -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": api,
            "title": f"Import OpenAPI into {api}" if api else "Import OpenAPI",
            "form": form,
            "report": report,
            "token": token,
            "error": error,
            "changes": {verb: [c for c in report.changes if c.verb == verb] for verb in ("added", "changed", "removed")}
            if report
            else {},
        }
        return TemplateResponse(request, "admin/apis/api/import.html", context)

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
