"""Forms of the public pages and the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from hub.catalogue.models import ProductFamily, Theme
from hub.catalogue.publishing import MOSAIC_FAMILY


class PeriodForm(forms.Form):
    """A date range: items whose period overlaps it."""

    start = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To",
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        """From on or before to."""
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("the range ends before it starts")
        return data


class BrowseForm(PeriodForm):
    """Filters of the browse page: theme, variable, resolution and a date range."""

    theme = forms.ChoiceField(required=False, choices=[("", "any theme"), *Theme.choices])
    variable = forms.ChoiceField(required=False)
    resolution = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, families: list[ProductFamily], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        variables = sorted({f.variable for f in families})
        resolutions = sorted({r for f in families for r in f.resolutions}, key=_resolution_key)
        self.fields["variable"].choices = [("", "any variable"), *[(v, v) for v in variables]]
        self.fields["resolution"].choices = [("", "any resolution"),
                                             *[(r, r) for r in resolutions]]


def _resolution_key(text: str) -> tuple[float, str]:
    """Sort "10 m" < "300 m" < "1 km"; anything unparsable last."""
    number, _, unit = text.partition(" ")
    try:
        return float(number) * (1000 if unit == "km" else 1), text
    except ValueError:
        return float("inf"), text


class ResolutionsField(forms.CharField):
    """A list of resolutions edited as comma-separated text ("300 m, 1 km")."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [part.strip() for part in text.split(",") if part.strip()]


def _https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Form fields of the model's fields; links typed without a scheme are https (Django 6's
    default, adopted now as the admin's other forms do)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class FamilyAdminForm(forms.ModelForm):
    """The family form of the admin, with resolutions as plain text."""

    resolutions = ResolutionsField(required=False, help_text='comma-separated, e.g. "300 m, 1 km"')

    class Meta:
        model = ProductFamily
        fields = "__all__"
        formfield_callback = _https_by_default


def family_field() -> forms.ModelChoiceField:
    """The catalogue family a mosaic is published into (the Sentinel-2 mosaics by default)."""
    return forms.ModelChoiceField(
        queryset=ProductFamily.objects.all(), to_field_name="slug", initial=MOSAIC_FAMILY,
        empty_label=None, label="Catalogue family")


class PublishForm(forms.Form):
    """Publishing a finished mosaic from its product page (staff)."""

    family = family_field()
