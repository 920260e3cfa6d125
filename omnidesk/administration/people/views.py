"""Settings → people: members and their roles, invitations, teams. Admins only; everything within their municipality."""
from __future__ import annotations

import logging
import smtplib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from omnidesk.administration.people.forms import InviteForm, RoleForm, TeamForm
from omnidesk.tenants import selectors, services
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Invitation, Membership, Municipality, Role, Team

logger = logging.getLogger(__name__)
# What each role may do, shown beside the members so an admin chooses knowingly.
ROLE_SUMMARY = [
    (Role.AGENT, gettext_lazy("Works in the inbox: answers residents, assigns and resolves tickets.")),
    (Role.SUPERVISOR, gettext_lazy("Like an agent, and also sees the reports and every ticket.")),
    (Role.ADMIN, gettext_lazy("Like a supervisor, and also changes the settings, channels, users and teams, and "
                              "reads the audit log.")),
]


def _municipality(request: HttpRequest) -> Municipality:
    return request.membership.municipality  # type: ignore[attr-defined]


def _membership_or_404(request: HttpRequest, membership_id: int) -> Membership:
    membership = selectors.membership_in(_municipality(request), membership_id)
    if membership is None:
        raise Http404(_("No such member."))
    return membership


def _invitation_or_404(request: HttpRequest, invitation_id: int) -> Invitation:
    invitation = selectors.invitation_in(_municipality(request), invitation_id)
    if invitation is None:
        raise Http404(_("No such invitation."))
    return invitation


def _team_or_404(request: HttpRequest, team_id: int) -> Team:
    team = selectors.team_in(_municipality(request), team_id)
    if team is None:
        raise Http404(_("No such team."))
    return team


def _refusal(error: ValidationError) -> str:
    return " ".join(error.messages)


def _users_page(request: HttpRequest, invite_form: InviteForm) -> HttpResponse:
    municipality = _municipality(request)
    return render(request, "administration/people/users.html", {
        "settings_section": "users",
        "municipality": municipality,
        "members": selectors.members_of(municipality),
        "invitations": selectors.open_invitations(municipality),
        "invite_form": invite_form,
        "role_choices": Role.choices,
        "role_summary": [(Role(role).label, text) for role, text in ROLE_SUMMARY],
        "now": timezone.now(),
    }, status=400 if invite_form.is_bound else 200)


@role_required(Role.ADMIN)
def users(request: HttpRequest) -> HttpResponse:
    return _users_page(request, InviteForm(municipality=_municipality(request)))


@role_required(Role.ADMIN)
@require_POST
def user_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("settings:users")
    try:
        services.membership_set_role(membership=membership, role=form.cleaned_data["role"], actor=request.user)
    except services.LastAdministrator as error:
        messages.error(request, _refusal(error))
        return redirect("settings:users")
    messages.success(request, _("The role of %(name)s is now %(role)s.") % {
        "name": membership.user.get_full_name() or membership.user.get_username(),
        "role": Role(form.cleaned_data["role"]).label})
    # An admin who made themselves agent or supervisor may no longer see this page.
    if membership.user_id == request.user.pk and form.cleaned_data["role"] != Role.ADMIN:
        return redirect("dashboard:inbox")
    return redirect("settings:users")


@role_required(Role.ADMIN)
@require_POST
def user_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_or_404(request, membership_id)
    name = membership.user.get_full_name() or membership.user.get_username()
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except services.LastAdministrator as error:
        messages.error(request, _refusal(error))
        return redirect("settings:users")
    messages.success(request, _("%(name)s no longer works for this municipality.") % {"name": name})
    return redirect("dashboard:inbox" if membership.user_id == request.user.pk else "settings:users")


@role_required(Role.ADMIN)
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST, municipality=_municipality(request))
    if not form.is_valid():
        return _users_page(request, form)
    try:
        services.invitation_create(municipality=_municipality(request), email=form.cleaned_data["email"],
                                   role=form.cleaned_data["role"], actor=request.user)
    except services.InvitationRefused as error:
        form.add_error("email", error)
        return _users_page(request, form)
    except (smtplib.SMTPException, OSError):
        logger.exception("invitation mail not sent")
        messages.error(request, _("The invitation could not be sent by email, so it was not made. Try again later."))
        return redirect("settings:users")
    messages.success(request, _("The invitation has been sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    return redirect("settings:users")


@role_required(Role.ADMIN)
@require_POST
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        services.invitation_resend(invitation=invitation, actor=request.user)
    except services.InvitationRefused as error:
        messages.error(request, _refusal(error))
        return redirect("settings:users")
    except (smtplib.SMTPException, OSError):
        logger.exception("invitation mail not sent")
        messages.error(request, _("The invitation could not be sent by email. Try again later."))
        return redirect("settings:users")
    messages.success(request, _("A new invitation has been sent to %(email)s.") % {"email": invitation.email})
    return redirect("settings:users")


@role_required(Role.ADMIN)
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = _invitation_or_404(request, invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except services.InvitationRefused as error:
        messages.error(request, _refusal(error))
        return redirect("settings:users")
    messages.success(request, _("The invitation for %(email)s has been withdrawn.") % {"email": invitation.email})
    return redirect("settings:users")


# --- teams --------------------------------------------------------------------------------------------------------
@role_required(Role.ADMIN)
def teams(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/people/teams.html", {
        "settings_section": "teams", "teams": selectors.teams_of(_municipality(request))})


def _team_form_page(request: HttpRequest, form: TeamForm, team: Team | None) -> HttpResponse:
    return render(request, "administration/people/team_form.html", {"settings_section": "teams", "form": form,
                                                                     "team": team},
                  status=400 if form.is_bound else 200)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def team_add(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    if request.method != "POST":
        return _team_form_page(request, TeamForm(municipality=municipality), None)
    form = TeamForm(request.POST, municipality=municipality)
    if not form.is_valid():
        return _team_form_page(request, form, None)
    try:
        team = services.team_create(municipality=municipality, name=form.cleaned_data["name"],
                                    members=form.cleaned_data["members"], actor=request.user)
    except ValidationError as error:
        form.add_error(None, error)
        return _team_form_page(request, form, None)
    messages.success(request, _("Team %(name)s has been added.") % {"name": team.name})
    return redirect("settings:teams")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    municipality = _municipality(request)
    team = _team_or_404(request, team_id)
    if request.method != "POST":
        return _team_form_page(request, TeamForm(municipality=municipality, team=team), team)
    form = TeamForm(request.POST, municipality=municipality, team=team)
    if not form.is_valid():
        return _team_form_page(request, form, team)
    try:
        services.team_update(team=team, name=form.cleaned_data["name"], members=form.cleaned_data["members"],
                             actor=request.user)
    except ValidationError as error:
        form.add_error(None, error)
        return _team_form_page(request, form, team)
    messages.success(request, _("Team %(name)s has been saved.") % {"name": team.name})
    return redirect("settings:teams")


@role_required(Role.ADMIN)
@require_POST
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(request, team_id)
    name = team.name
    services.team_delete(team=team, actor=request.user)
    messages.success(request, _("Team %(name)s has been deleted; its tickets are kept without a team.")
                     % {"name": name})
    return redirect("settings:teams")
