"""/invitations/<token>/: the page an invitation mail links to. Public: the token is the only credential."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from omnidesk.administration.people.forms import NewAccountForm
from omnidesk.tenants import selectors, services
from omnidesk.tenants.access import switch_municipality
from omnidesk.tenants.models import Invitation


# A live link's pages answer 200 even when refusing (another account, a form error): Django logs the path of every
# 4xx response, and the path holds the token. Only dead links get 404/410.
def _unusable(request: HttpRequest, status: int) -> HttpResponse:
    # One page for unknown, expired, withdrawn and used links: which one it was is nobody's business.
    return render(request, "invitations/invalid.html", status=status)


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    switch_municipality(request, invitation.municipality_id)
    messages.success(request, _("Welcome to %(municipality)s.") % {"municipality": invitation.municipality.name})
    return redirect("dashboard:inbox")


@never_cache
@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return _unusable(request, 404)
    if not selectors.invitation_is_usable(invitation):
        return _unusable(request, 410)
    context: dict[str, object] = {"invitation": invitation, "municipality": invitation.municipality}
    user = request.user

    if user.is_authenticated:
        if not selectors.user_matches_email(user, invitation.email):
            return render(request, "invitations/other_user.html", {**context, "next": request.path})
        if request.method == "POST":
            try:
                services.invitation_accept(invitation=invitation, user=user)
            except services.InvitationRefused:
                return _unusable(request, 410)
            return _joined(request, invitation)
        return render(request, "invitations/join.html", context)

    if selectors.users_with_email(invitation.email).exists():
        login_url = f"{reverse('login')}?{urlencode({'next': request.path})}"
        return render(request, "invitations/log_in_first.html", {**context, "login_url": login_url})

    form = NewAccountForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            new_user, _membership = services.invitation_accept_as_new_user(
                invitation=invitation, first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"], password=form.cleaned_data["password1"])
        except services.InvitationRefused:
            return _unusable(request, 410)
        login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
        return _joined(request, invitation)
    return render(request, "invitations/new_account.html", {**context, "form": form})
