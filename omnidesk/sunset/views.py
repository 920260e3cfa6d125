"""The municipality admin's view of who still writes to its switched-off channels, and its CSV export."""
from __future__ import annotations

from collections.abc import Iterator

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from omnidesk.channel_accounts.selectors import accounts_of
from omnidesk.ops.csv_export import streaming_csv
from omnidesk.sunset.selectors import ContactFilter, sunset_contacts, sunset_totals
from omnidesk.tenants.access import role_required
from omnidesk.tenants.models import Municipality, Role

PAGE_SIZE = 50


class ContactFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Up to and including"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


def _filter(request: HttpRequest, municipality: Municipality) -> tuple[ContactFilter, ContactFilterForm]:
    """The account (another municipality's, or no number at all: 404) and the dates asked for."""
    account = None
    raw = request.GET.get("account", "")
    if raw:
        account = accounts_of(municipality).filter(pk=int(raw)).first() if raw.isdigit() else None
        if account is None:
            raise Http404("No such channel.")
    form = ContactFilterForm(request.GET)
    dates = form.cleaned_data if form.is_valid() else {}
    for name in set(form.errors) & set(form.fields):  # the error, shown after the field, is read with it
        form.fields[name].widget.attrs["aria-describedby"] = f"{form[name].id_for_label}-error"
    return ContactFilter(account=account, since=dates.get("since"), until=dates.get("until")), form


@role_required(Role.ADMIN)
def sunset_contact_list(request: HttpRequest) -> HttpResponse:
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    where, form = _filter(request, municipality)
    page = Paginator(sunset_contacts(municipality, where), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "administration/sunset/contacts.html", {
        "settings_section": "sunset", "municipality": municipality, "form": form, "where": where, "page": page,
        "totals": sunset_totals(municipality, account=where.account), "query": query.urlencode(),
        "accounts": accounts_of(municipality).order_by("name"),
    })


@role_required(Role.ADMIN)
def sunset_contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered contacts as CSV (streamed: years of contacts do not sit in memory)."""
    municipality = request.membership.municipality  # type: ignore[attr-defined]
    where, _form = _filter(request, municipality)

    def rows() -> Iterator[list[str]]:
        yield ["time", "channel", "channel_type", "resident_kind", "resident", "answer", "answer_error"]
        for contact in sunset_contacts(municipality, where).iterator(chunk_size=500):
            yield [timezone.localtime(contact.received_at).isoformat(), contact.channel_account.name,
                   contact.channel_account.plugin_key, contact.identity_kind, contact.identity_value,
                   contact.reply_status or "none", contact.reply_error]

    return streaming_csv(f"sunset-{municipality.slug}.csv", rows())
