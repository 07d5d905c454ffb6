"""The ordering dialogue: a form built from the order options (`ORDER_OPTIONS`) whose checks are
those of `compositing.orders.spec`; this module only chooses how each option is shown."""

from __future__ import annotations

from typing import Any

from django import forms

from compositing.orders.spec import ORDER_OPTIONS, MosaicSpec, OrderOption, SpecError
from hub.mosaics.services import read_order

# How options are shown; names, choices, defaults and rules come from ORDER_OPTIONS.
LABELS: dict[str, str] = {
    "aoi": "Area of interest", "start": "Start date", "end": "End date (custom period only)",
    "crs": "Coordinate system", "layout": "GeoTIFF files", "tiling": "Product split",
    "aux": "Auxiliary layers", "cloud_buffer": "Cloud and shadow buffer (pixels)",
    "compare_start": "Compare with (a day of the second period)",
    "confidence": "Confidence of a change", "change_classes": "Classes of change",
}
WIDGETS: dict[str, forms.Widget] = {
    "aoi": forms.Textarea(attrs={"rows": 4}),
    "start": forms.DateInput(attrs={"type": "date"}),
    "end": forms.DateInput(attrs={"type": "date"}),
    "compare_start": forms.DateInput(attrs={"type": "date"}),
}
INITIAL: dict[str, Any] = {
    "period": "month", "resolution": 20, "crs": "UTM", "bands": ["B02", "B03", "B04", "B08"],
}


def _initial(default: Any) -> Any:
    return list(default) if isinstance(default, tuple) else default


def form_field(option: OrderOption) -> forms.Field:
    """The form field of one order option (validation is left to `parse_spec`)."""
    common: dict[str, Any] = {
        "label": LABELS.get(option.name), "help_text": option.help,
        "required": option.required,
        "initial": INITIAL.get(option.name, _initial(option.default)),
    }
    # Sentence case for labels, but never for a label that starts with its value (a layer
    # name such as source_index is spelt as the API takes it).
    choices = [(value, text if text.startswith(str(value)) else text[:1].upper() + text[1:])
               for value, text in (option.choices or {}).items()]
    if option.choices is not None and option.many:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple,
                                         **common)
    if option.choices is not None:
        return forms.ChoiceField(choices=choices, **common)
    if isinstance(option.default, int):
        return forms.IntegerField(min_value=0, **common)
    return forms.CharField(widget=WIDGETS.get(option.name), **common)


class OrderForm(forms.Form):
    """Every ordering option; errors land next to the field they concern."""

    spec: MosaicSpec

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        options = {name: data.get(name) for name in ORDER_OPTIONS}
        if options["period"] != "custom":
            options["end"] = None
        try:
            self.spec = read_order(options)
        except SpecError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


OrderForm.base_fields = {name: form_field(option) for name, option in ORDER_OPTIONS.items()}
