"""Forms of the people pages: roles, invitations, teams, and the account an invited newcomer makes."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from omnidesk.tenants import selectors
from omnidesk.tenants.models import Invitation, Municipality, Role, Team


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.municipality = municipality

    def clean_email(self) -> str:
        # The service refuses these too; checking here puts the reason next to the field.
        email: str = self.cleaned_data["email"].strip().lower()
        if selectors.is_member_email(self.municipality, email):
            raise forms.ValidationError(_("Somebody with this email address already works for this municipality."),
                                        code="member")
        if selectors.pending_invitation_exists(self.municipality, email):
            raise forms.ValidationError(
                _("This email address has already been invited; you can send the invitation again."), code="pending")
        return email


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AbstractBaseUser) -> str:
        full_name = obj.get_full_name()  # type: ignore[attr-defined]
        return f"{full_name} ({obj.get_username()})" if full_name else obj.get_username()


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    # Only the municipality's own members are choices: anyone else posted is "not a valid choice".
    members = MemberChoiceField(label=_("Members"), queryset=get_user_model().objects.none(), required=False,
                                widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, municipality: Municipality, team: Team | None = None, **kwargs: Any) -> None:
        if team is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": team.name, "members": list(team.members.all())}
        super().__init__(*args, **kwargs)
        self.municipality, self.team = municipality, team
        self.fields["members"].queryset = selectors.member_users(municipality)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if selectors.team_name_taken(self.municipality, name, except_team=self.team):
            raise forms.ValidationError(_("There is a team with this name already."), code="taken")
        return name


class NewAccountForm(forms.Form):
    """The account of somebody invited who has none yet; the invited address becomes their username."""

    first_name = forms.CharField(label=_("First name"), max_length=150,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Last name"), max_length=150,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, invitation: Invitation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", forms.ValidationError(_("The two passwords differ."), code="mismatch"))
        elif password1:
            # Validated against the account-to-be, so a password resembling one's own name or address is refused.
            candidate = get_user_model()(username=self.invitation.email, email=self.invitation.email,
                                         first_name=cleaned.get("first_name", ""),
                                         last_name=cleaned.get("last_name", ""))
            try:
                password_validation.validate_password(password1, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
