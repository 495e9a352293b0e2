"""The journal page: every entry, newest first, filtered; chain verification on request.

The journal's own page, hosted above the models its ids name (see `journal_entries`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from apps.core.actors import actor
from apps.core.roles import Role, has_role
from apps.journal import services
from apps.journal.models import Entry
from apps.positions.access import portfolio_or_404
from apps.proposals import journal_entries
from apps.proposals.journal_forms import EntryFilterForm, NoteForm

PER_PAGE = 50
WRITERS = (Role.MANAGER, Role.APPROVER)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _entries(request: HttpRequest) -> dict[str, Any]:
    """The filtered, paginated entries and the filter form (with its errors); a fund the user
    may not see is a 404."""
    if code := request.GET.get("portfolio"):
        portfolio_or_404(request.user, code=code)
    filters = EntryFilterForm(request.GET or None, auto_id="filter-%s", user=request.user)
    entries: QuerySet[Entry] = journal_entries.entries(request.user)
    if filters.is_bound:
        filters.is_valid()
        entries = filters.apply(entries)
    page = Paginator(entries.order_by("-seq"), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("verify", None)
    return {"filters": filters, "page": page, "entries": page.object_list, "query": query}


def entries(request: HtmxHttpRequest, note_form: NoteForm | None = None) -> HttpResponse:
    """Entries newest first, 50 a page; htmx gets the table (or, with ?verify=1, the badge)."""
    if not has_role(request.user, *Role.values):
        raise PermissionDenied("Your role does not open the journal.")
    verify = request.GET.get("verify") == "1"
    context: dict[str, Any] = {"verified": verify, "broken": services.verify() if verify else None}
    partial = request.htmx and not request.htmx.history_restore_request
    if partial and verify:
        return render(request, "journal/_chain_badge.html", context)
    context |= _entries(request)
    context |= {
        "can_write": has_role(request.user, *WRITERS),
        "note_form": note_form or NoteForm(auto_id="note-%s", user=request.user),
    }
    response = render(request, "journal/_table.html" if partial else "journal/list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def add_note(request: HtmxHttpRequest) -> HttpResponse:
    """A note about a day, a position or a proposal."""
    form = NoteForm(request.POST, auto_id="note-%s", user=request.user)
    if form.is_valid():
        try:
            entry = services.add_note(by=actor(request), **form.cleaned_data)
        except ValidationError as error:
            form.add_error("note", error.messages)
        else:
            messages.success(request, f"Note #{entry.seq} added to the journal.")
            return redirect("journal:list")
    return entries(request, note_form=form)
