"""Workflow settings: routing rules, the municipality's canned responses, assignment and retention.

Every view is for the municipality's admins only, and every object is looked up within their municipality (404
otherwise). Writes go through the services, which record them in the audit log.
"""
from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from omnidesk.administration.workflow.forms import AssignmentForm, CannedResponseForm, RetentionForm, RuleForm
from omnidesk.responses.models import CannedResponse
from omnidesk.responses.selectors import responses_of
from omnidesk.responses.services import canned_response_create, canned_response_delete, canned_response_update
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Municipality, Role
from omnidesk.tenants.services import municipality_update
from omnidesk.tickets.models import RoutingRule
from omnidesk.tickets.retention import MINIMUM_DAYS, retention_count
from omnidesk.tickets.routing_rules import rule_in, rules_of
from omnidesk.tickets.rules_services import rule_create, rule_delete, rule_move, rule_update, tag_for_name


def _data(request: HttpRequest) -> Any:
    """The posted data, or None for a GET (an empty POST is still a submission, with its errors)."""
    return request.POST if request.method == "POST" else None


def _municipality(request: HttpRequest) -> Municipality:
    return request.membership.municipality  # type: ignore[attr-defined]


def _rule_or_404(request: HttpRequest, rule_id: int) -> RoutingRule:
    rule = rule_in(_municipality(request), rule_id)
    if rule is None:
        raise Http404
    return rule


def _response_or_404(request: HttpRequest, response_id: int) -> CannedResponse:
    response = responses_of(_municipality(request)).filter(pk=response_id).first()
    if response is None:
        raise Http404
    return response


# --- routing rules -------------------------------------------------------------------------------------------------
@role_required(Role.ADMIN)
def rules(request: HttpRequest) -> HttpResponse:
    all_rules = list(rules_of(_municipality(request)))
    return render(request, "administration/workflow/rules.html",
                  {"settings_section": "rules", "rules": all_rules})


def _rule_fields(request: HttpRequest, form: RuleForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"], "active": data["active"], "keywords": data["keywords"],
        "channel_account": data["channel_account"], "team": data["team"], "priority": data["priority"],
        "tag": tag_for_name(municipality=_municipality(request), name=data["tag"]) if data["tag"] else None,
    }


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def rule_add(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    form = RuleForm(_data(request), municipality=municipality)
    if request.method == "POST" and form.is_valid():
        rule = rule_create(municipality=municipality, actor=request.user, **_rule_fields(request, form))
        messages.success(request, _("Rule “%(name)s” added.") % {"name": rule.name})
        return redirect("settings:rules")
    return render(request, "administration/workflow/rule_form.html",
                  {"settings_section": "rules", "form": form, "rule": None})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    form = RuleForm(_data(request), municipality=_municipality(request), initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        rule_update(rule=rule, actor=request.user, **_rule_fields(request, form))
        messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
        return redirect("settings:rules")
    return render(request, "administration/workflow/rule_form.html",
                  {"settings_section": "rules", "form": form, "rule": rule})


@role_required(Role.ADMIN)
@require_POST
def rule_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    name = rule.name
    rule_delete(rule=rule, actor=request.user)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": name})
    return redirect("settings:rules")


@role_required(Role.ADMIN)
@require_POST
def rule_reorder(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return HttpResponse(_("Move a rule up or down."), status=400, content_type="text/plain; charset=utf-8")
    if rule_move(rule=rule, actor=request.user, direction=direction):  # type: ignore[arg-type]
        messages.success(request, _("Rule “%(name)s” moved.") % {"name": rule.name})
    return redirect("settings:rules")


# --- canned responses ----------------------------------------------------------------------------------------------
@role_required(Role.ADMIN)
def responses(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/workflow/responses.html",
                  {"settings_section": "responses", "responses": responses_of(_municipality(request))})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def response_add(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    form = CannedResponseForm(_data(request), instance=CannedResponse(municipality=municipality))
    if request.method == "POST" and form.is_valid():
        try:
            response = canned_response_create(municipality=municipality, actor=request.user, **form.cleaned_data)
        except ValidationError as error:  # the shortcut is taken in this municipality
            form.add_error(None, error)
        else:
            messages.success(request, _("Canned response /%(shortcut)s added.") % {"shortcut": response.shortcut})
            return redirect("settings:responses")
    return render(request, "administration/workflow/response_form.html",
                  {"settings_section": "responses", "form": form, "response": None})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def response_edit(request: HttpRequest, response_id: int) -> HttpResponse:
    response = _response_or_404(request, response_id)
    # The form validates a copy, so the service still sees the old values and records what changed.
    form = CannedResponseForm(_data(request), instance=copy.copy(response))
    if request.method == "POST" and form.is_valid():
        try:
            canned_response_update(response=response, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Canned response /%(shortcut)s saved.") % {"shortcut": response.shortcut})
            return redirect("settings:responses")
    return render(request, "administration/workflow/response_form.html",
                  {"settings_section": "responses", "form": form, "response": response})


@role_required(Role.ADMIN)
@require_POST
def response_remove(request: HttpRequest, response_id: int) -> HttpResponse:
    response = _response_or_404(request, response_id)
    shortcut = response.shortcut
    canned_response_delete(response=response, actor=request.user)
    messages.success(request, _("Canned response /%(shortcut)s deleted.") % {"shortcut": shortcut})
    return redirect("settings:responses")


# --- assignment and retention ----------------------------------------------------------------------------------------
@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def general(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    form = AssignmentForm(_data(request), instance=copy.copy(municipality))
    if request.method == "POST" and form.is_valid():
        municipality_update(municipality=municipality, actor=request.user, fields=form.cleaned_data,
                            action="municipality.assignment_changed")
        messages.success(request, _("Assignment settings saved."))
        return redirect("settings:general")
    return render(request, "administration/workflow/general.html", {"settings_section": "general", "form": form})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def retention(request: HttpRequest) -> HttpResponse:
    municipality = _municipality(request)
    form = RetentionForm(_data(request), initial={"retention_days": municipality.retention_days})
    if request.method == "POST" and form.is_valid():
        municipality_update(municipality=municipality, actor=request.user,
                            fields={"retention_days": form.cleaned_data["retention_days"]},
                            action="municipality.retention_changed")
        messages.success(request, _("Retention saved."))
        return redirect("settings:retention")
    return render(request, "administration/workflow/retention.html", {
        "settings_section": "retention", "form": form, "municipality": municipality, "minimum_days": MINIMUM_DAYS,
        "expired_count": retention_count(municipality) if municipality.retention_days else None,
    })
