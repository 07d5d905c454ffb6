"""Template helpers of the ordering dialogue's grouped layout."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms, template
from django.forms.boundfield import BoundField

register = template.Library()


@register.filter
def fields_except(form: forms.Form, names: str) -> Iterable[BoundField]:
    """The form's fields not named in the space-separated `names`: the fields a template does
    not lay out itself still appear (new options must never be silently hidden)."""
    laid_out = set(names.split())
    return [field for field in form if field.name not in laid_out]


@register.filter
def form_field(form: forms.Form, name: str) -> BoundField | None:
    """The bound field `name`, or None when the form has no such field."""
    return form[name] if name in form.fields else None
