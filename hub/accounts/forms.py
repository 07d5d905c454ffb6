"""Forms of the user's account pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm

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


class SignUpForm(UserCreationForm):
    """A user name, an e-mail address (for the verification link and password resets; one
    account per address, whatever its case) and a password."""

    email = forms.EmailField(
        label="E-mail address", max_length=254,
        help_text="we send a link to confirm it; also where a forgotten password is reset",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self) -> str:
        email: str = get_user_model().objects.normalize_email(self.cleaned_data["email"].strip())
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "an account with this e-mail address exists already: log in, or reset its "
                "password from the login page")
        return email


class ResetForm(PasswordResetForm):
    """Django's reset form, its field named as the sign-up form names it."""

    email = forms.EmailField(label="E-mail address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                            "autofocus": True}))
