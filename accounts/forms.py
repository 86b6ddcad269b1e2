from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm


class SignupForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists. Log in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            User = get_user_model()
            try:
                password_validation.validate_password(password, User(username=email, email=email))
            except forms.ValidationError as e:
                self.add_error("password", e)
        return cleaned

    def save(self):
        # The e-mail address is the username: one thing to remember.
        User = get_user_model()
        email = self.cleaned_data["email"]
        return User.objects.create_user(username=email, email=email, password=self.cleaned_data["password"])


class LoginForm(AuthenticationForm):
    """Log in with the e-mail address (or the username of an account made in
    the admin)."""

    username = forms.CharField(
        label="E-mail", max_length=254, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )

    def clean(self):
        given = (self.cleaned_data.get("username") or "").strip()
        if "@" in given:
            User = get_user_model()
            user = User.objects.filter(email__iexact=given).order_by("id").first()
            if user is not None:
                self.cleaned_data["username"] = user.get_username()
        return super().clean()
