"""The admin's "Import OpenAPI" form: a file or pasted text, and the import options."""

from __future__ import annotations

from django import forms

from apis import openapi
from apis.models import Product


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="An OpenAPI 2.0, 3.0 or 3.1 document, JSON or YAML, up to 20 MB.")
    text = forms.CharField(
        label="or paste it",
        help_text="Up to 2.5 MB of text; upload larger documents as a file.",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 100, "spellcheck": "false"}),
    )
    name = forms.CharField(required=False, max_length=200, help_text="Default: the document's title.")
    suffix = forms.CharField(
        label="URL suffix", required=False, max_length=100, help_text="Default: a slug of the document's title."
    )
    service_url = forms.CharField(
        label="Web service URL",
        required=False,
        max_length=500,
        help_text="Default: the document's first server; a relative server URL is joined to this one.",
    )
    products = forms.ModelMultipleChoiceField(Product.objects.all(), required=False)
    publish = forms.BooleanField(required=False, help_text="An imported API is a draft unless published here.")

    def __init__(self, *args, api=None, **kwargs):
        super().__init__(*args, **kwargs)
        if api is not None:
            # Re-importing keeps the API's name and suffix unless the admin changes them in the API form.
            del self.fields["name"], self.fields["suffix"]
            self.fields["service_url"].help_text = f"Default: the API's, {api.service_url}."

    def clean(self):
        data = super().clean()
        upload, text = data.get("file"), data.get("text", "")
        if upload and text.strip():
            raise forms.ValidationError("Upload a file or paste the text, not both.")
        if upload:
            # One byte past the limit is enough for the reader to refuse it.
            data["document"] = upload.read(openapi.MAX_BYTES + 1)
        elif text.strip():
            data["document"] = text.encode()
        else:
            raise forms.ValidationError("Upload a file or paste the document.")
        return data

    def options(self) -> dict:
        """The import options, as apis.importing.import_document takes them (JSON-friendly)."""
        data = self.cleaned_data
        return {
            "name": data.get("name", ""),
            "suffix": data.get("suffix", ""),
            "service_url": data.get("service_url", ""),
            "products": [p.pk for p in data.get("products") or []],
            "publish": bool(data.get("publish")),
        }
