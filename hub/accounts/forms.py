"""Forms of the user's account pages."""

from __future__ import annotations

from django import forms

from hub.accounts.models import ApiToken


class TokenForm(forms.Form):
    """A new API token: only its name, to tell tokens apart when revoking one."""

    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="what the token is for, e.g. 'laptop download script'")

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("give the token a name")
        return name
