"""Django admin's inline tables, accessible: every field of every row has a name.

A tabular inline shows its labels once, as column headers, so its inputs and
selects have no label of their own (axe-core: "Form elements must have
labels"). The formset names each field after its column and row.
"""

from __future__ import annotations

from django.forms.models import BaseInlineFormSet


class LabelledInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        row = "new row" if index is None else f"row {index + 1}"
        for name, field in form.fields.items():
            label = "Delete" if name == "DELETE" else (field.label or name.replace("_", " ").capitalize())
            field.widget.attrs["aria-label"] = f"{label}, {row}"
