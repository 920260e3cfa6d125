"""/settings/channels/: the admin's channel accounts — add, configure, test, switch on/off (now or planned), remove.

Every view is for the municipality admin only; an account of another municipality is not found (404).
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omnidesk.administration.channels.forms import (
    AccountEditForm,
    AccountForm,
    ScheduleForm,
    ToggleForm,
    config_form,
    raw_config,
    show_errors,
)
from omnidesk.channel_accounts import selectors
from omnidesk.channel_accounts.models import ChannelAccount
from omnidesk.channel_accounts.services import (
    channel_account_create,
    channel_account_remove,
    channel_account_set_enabled,
    channel_account_update,
    channel_account_update_config,
    channel_schedule_cancel,
    channel_schedule_create,
)
from omnidesk.plugin_api.forms import ChannelConfigForm
from omnidesk.plugin_api.registry import UnknownPlugin, get_adapter
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Role

SECTION = {"settings_section": "channels"}


def _account(request: HttpRequest, pk: int) -> ChannelAccount:
    """An account of the admin's own municipality; any other is simply not found."""
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    return get_object_or_404(selectors.accounts_of(municipality).select_related("municipality", "team"), pk=pk)


def _form_class(plugin_key: str) -> type[ChannelConfigForm] | None:
    try:
        return get_adapter(plugin_key).config_form
    except UnknownPlugin:
        return None


@role_required(Role.ADMIN)
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    rows = [
        {"account": account, "plugin": selectors.plugin_info(account.plugin_key),
         "webhook_url": selectors.webhook_url(account) if selectors.receives_webhooks(account) else ""}
        for account in selectors.accounts_for_settings(municipality)
    ]
    return render(request, "administration/channels/list.html", {**SECTION, "rows": rows})


@role_required(Role.ADMIN)
@require_GET
def channel_add(request: HttpRequest) -> HttpResponse:
    return render(request, "administration/channels/add.html",
                  {**SECTION, "plugins": selectors.installed_plugins()})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def channel_add_config(request: HttpRequest, plugin_key: str) -> HttpResponse:
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    form_class = _form_class(plugin_key)
    if form_class is None:
        raise Http404("No such channel plugin.")
    data = request.POST if request.method == "POST" else None
    form = AccountForm(data, municipality=municipality)
    plugin_form = config_form(form_class, data=data)
    if request.method == "POST" and form.is_valid():
        try:
            account = channel_account_create(
                municipality=municipality, plugin_key=plugin_key, name=form.cleaned_data["name"],
                team=form.cleaned_data["team"], config=raw_config(plugin_form), actor=request.user,
            )
        except ValidationError as exc:
            # Secrets just typed are not stored anywhere else; their values must not come back in a message either.
            typed = [str(plugin_form[name].data) for name in form_class.secret_field_names() if plugin_form[name].data]
            show_errors([plugin_form, form], exc, sorted(typed, key=len, reverse=True))
        else:
            messages.success(request, _("The channel %(name)s has been added.") % {"name": account.name})
            return redirect("settings:channel-edit", pk=account.pk)
    return render(request, "administration/channels/add_config.html", {
        **SECTION, "plugin": selectors.plugin_info(plugin_key), "form": form, "plugin_form": plugin_form,
    })


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form, plugin_form = _edit_forms(account, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            # Both or neither: a refused config leaves the name and sunset texts as they were too.
            with transaction.atomic():
                channel_account_update(account=account, actor=request.user, **form.cleaned_data)
                if plugin_form is not None:
                    channel_account_update_config(account=account, config=raw_config(plugin_form), actor=request.user)
        except ValidationError as exc:
            account.refresh_from_db()
            show_errors([f for f in (plugin_form, form) if f is not None], exc, selectors.secret_values(account))
        else:
            messages.success(request, _("The settings of %(name)s have been saved.") % {"name": account.name})
            return redirect("settings:channel-edit", pk=account.pk)
    return _edit_page(request, account, form=form, plugin_form=plugin_form)


def _edit_page(request: HttpRequest, account: ChannelAccount, *, form: AccountEditForm | None = None,
               plugin_form: ChannelConfigForm | None = None, schedule_form: ScheduleForm | None = None) -> HttpResponse:
    """The account's page; the schedule view shows it too, with its refused form in place."""
    if form is None:
        form, plugin_form = _edit_forms(account, None)
    return render(request, "administration/channels/edit.html", {
        **SECTION, "account": account, "plugin": selectors.plugin_info(account.plugin_key), "form": form,
        "plugin_form": plugin_form, "schedule_form": schedule_form or ScheduleForm(),
        "webhook_url": selectors.webhook_url(account) if selectors.receives_webhooks(account) else "",
        "embed_code": selectors.embed_code(account), "resident_page_url": selectors.resident_page_url(account),
        "pending": selectors.pending_schedules(account),
    })


def _edit_forms(account: ChannelAccount, data: QueryDict | None) -> tuple[AccountEditForm, ChannelConfigForm | None]:
    form = AccountEditForm(data, municipality=account.municipality, initial={
        "name": account.name, "team": account.team, "sunset_reply_nl": account.sunset_reply_nl,
        "sunset_reply_en": account.sunset_reply_en, "sunset_period_days": account.sunset_period_days,
    })
    form_class = _form_class(account.plugin_key)
    plugin_form = config_form(form_class, data=data, initial=account.config,
                              stored_secrets=selectors.stored_secret_names(account)) \
        if form_class else None
    return form, plugin_form


@role_required(Role.ADMIN)
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Not a change: nothing is recorded; the detail never carries a stored secret (selectors.connection_check)."""
    account = _account(request, pk)
    check = selectors.connection_check(account)
    if check.ok:
        messages.success(request, _("Connection test succeeded: %(detail)s") % {"detail": check.detail})
    else:
        messages.error(request, _("Connection test failed: %(detail)s") % {"detail": check.detail})
    return redirect("settings:channel-edit", pk=account.pk)


@role_required(Role.ADMIN)
@require_POST
def channel_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = ToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to switch the channel on or off."))
    else:
        enabled = form.cleaned_data["enabled"]
        channel_account_set_enabled(account=account, enabled=enabled, actor=request.user)
        messages.success(request, (_("%(name)s is switched on.") if enabled else _("%(name)s is switched off."))
                         % {"name": account.name})
    return redirect(_back(request, account))


@role_required(Role.ADMIN)
@require_POST
def channel_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            channel_schedule_create(account=account, at=form.cleaned_data["at"], enable=form.cleaned_data["enable"],
                                    actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)  # the service names the field ("at")
        else:
            messages.success(request, _("The switch has been planned."))
            return redirect("settings:channel-edit", pk=account.pk)
    return _edit_page(request, account, schedule_form=form)


@role_required(Role.ADMIN)
@require_POST
def channel_schedule_cancel_view(request: HttpRequest, pk: int, schedule_id: int) -> HttpResponse:
    account = _account(request, pk)
    schedule = selectors.schedule_of(account, schedule_id)
    if schedule is None:
        raise Http404("No such planned switch.")
    try:
        channel_schedule_cancel(schedule=schedule, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The planned switch has been cancelled."))
    return redirect(_back(request, account))


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def channel_remove(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(request, pk)
    if request.method == "POST":
        try:
            channel_account_remove(account=account, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("settings:channel-edit", pk=account.pk)
        messages.success(request, _("The channel %(name)s has been removed.") % {"name": account.name})
        return redirect("settings:channels")
    return render(request, "administration/channels/remove.html", {
        **SECTION, "account": account, "has_tickets": selectors.has_tickets(account),
    })


def _back(request: HttpRequest, account: ChannelAccount) -> str:
    """The list or the account's page, whichever the form was on (only these two: no open redirect)."""
    return reverse("settings:channels") if request.POST.get("back") == "list" \
        else reverse("settings:channel-edit", kwargs={"pk": account.pk})
