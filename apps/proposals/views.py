"""The blotter: pending proposals with inline (htmx) decisions, the history, one proposal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from apps.core.actors import actor
from apps.core.permissions import role_required
from apps.core.roles import Role, has_role
from apps.journal import services as journal
from apps.positions import picker
from apps.positions.access import has_any_fund, visible
from apps.positions.models import Portfolio
from apps.proposals import journal_entries, services
from apps.proposals.forms import (
    ApproveForm,
    ExecuteForm,
    ModifyForm,
    NoteForm,
    ProposalForm,
    RejectForm,
    ServiceForm,
)
from apps.proposals.models import Proposal, ProposalQuerySet

HISTORY_PER_PAGE = 25


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _proposals(request: HttpRequest) -> ProposalQuerySet:
    return (
        Proposal.objects.visible_to(request.user)
        .select_related("portfolio", "strategy", "instrument", "proposed_by", "decided_by")
        .prefetch_related("executions")
    )


def _row(
    request: HttpRequest,
    proposal: Proposal,
    *,
    action: str = "",
    form: Form | None = None,
    error: str = "",
    done: str = "",
) -> dict[str, Any]:
    """What `_proposal_row.html` needs: the proposal, what this user may do, the forms."""
    user = request.user
    own = services.proposed_by_self(proposal, user)
    can_decide = services.may_decide(proposal, user)
    can_execute = services.may_execute(proposal, user)
    forms: dict[str, Form] = {}
    if can_decide:

        def ids(name: str) -> str:
            return f"p{proposal.pk}-{name}-%s"

        forms = {
            "approve": ApproveForm(auto_id=ids("approve")),
            "reject": RejectForm(auto_id=ids("reject")),
            "modify": ModifyForm(proposal=proposal, auto_id=ids("modify")),
        }
    if can_execute:
        forms["execute"] = ExecuteForm(proposal=proposal, auto_id=f"p{proposal.pk}-execute-%s")
    if form is not None:
        forms[action] = form
    breaches = (proposal.what_if or {}).get("hard_breaches") or []
    return {
        "p": proposal,
        "own": own and proposal.is_decidable,
        "can_decide": can_decide,
        "can_execute": can_execute,
        "breaches": breaches,
        "expired": proposal.is_decidable and proposal.expires_at <= timezone.now(),
        "freshness": services.what_if_freshness(proposal) if proposal.is_decidable else None,
        "can_remeasure": proposal.is_decidable and has_role(user, *REMEASURERS),
        "places": proposal.instrument.price_places,
        "forms": forms,
        "action": action,
        "error": error,
        "done": done,
    }


def _portfolio(request: HttpRequest) -> tuple[list[Portfolio], Portfolio | None]:
    """The user's active funds and the one asked for (`?portfolio=`, remembered; else the
    remembered one, else the first); 404 for a fund the user may not see."""
    portfolios = list(visible(request.user, Portfolio.objects.active()))
    code = picker.chosen_code(request, [(p.pk, p.code) for p in portfolios])
    chosen = next((p for p in portfolios if p.code == code), portfolios[0] if portfolios else None)
    return portfolios, chosen


def _blotter(
    request: HttpRequest, portfolio: Portfolio | None, new_form: ProposalForm | None = None
) -> dict[str, Any]:
    rows = _proposals(request).for_portfolio(portfolio) if portfolio else Proposal.objects.none()
    pending = rows.pending().order_by("expires_at", "pk")
    history = Paginator(rows.decided().order_by("-updated_at", "-pk"), HISTORY_PER_PAGE)
    page = history.get_page(request.GET.get("page"))
    can_propose = has_role(request.user, *services.PROPOSERS)
    if new_form is None and can_propose:
        new_form = ProposalForm(initial={"portfolio": portfolio}, user=request.user)
    return {
        "portfolio": portfolio,
        "pending": [_row(request, p) for p in pending],
        "history": [_row(request, p) for p in page],
        "history_page": page,
        "can_propose": can_propose,
        "read_only": not has_role(request.user, *services.DECIDERS, *services.EXECUTORS),
        "new_form": new_form,
    }


def blotter(request: HtmxHttpRequest) -> HttpResponse:
    """Pending proposals of a portfolio with inline decisions, the decided history below."""
    portfolios, portfolio = _portfolio(request)
    if not has_any_fund(request.user):
        return picker.no_fund(request, "Blotter")
    context = {"portfolios": portfolios, **_blotter(request, portfolio)}
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(
        request, "proposals/_blotter.html" if partial else "proposals/blotter.html", context
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """A manual proposal; errors re-render the blotter with the form open."""
    form = ProposalForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            proposal = services.create_proposal(
                portfolio=data["portfolio"],
                strategy=data["strategy"],
                instrument=data["instrument"],
                terms=form.terms(),
                rationale=data["rationale"],
                business_date=data["business_date"],
                conviction=data["conviction"],
                by=actor(request),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Proposal #{proposal.pk} is pending a second pair of eyes.")
            return redirect(f"{reverse('proposals:blotter')}?portfolio={proposal.portfolio.code}")
    portfolio = form.cleaned_data.get("portfolio") or _portfolio(request)[1]
    portfolios = list(visible(request.user, Portfolio.objects.active()))
    context = {"portfolios": portfolios, **_blotter(request, portfolio, new_form=form)}
    return render(request, "proposals/blotter.html", context)


def detail(request: HttpRequest, pk: int, note_form: NoteForm | None = None) -> HttpResponse:
    """One proposal: terms, decision, what-if, its trade and its journal entries."""
    proposal = get_object_or_404(_proposals(request), pk=pk)
    entries = journal_entries.entries(request.user).filter(proposal_id=proposal.pk)
    context = {
        "row": _row(request, proposal),
        "entries": entries.order_by("-seq"),
        "note_form": note_form or NoteForm(),
        "can_note": has_role(request.user, *services.DECIDERS),
    }
    return render(request, "proposals/detail.html", context)


# Who may measure a pending proposal's what-if again (what the pre-open pipeline does).
REMEASURERS = (Role.MANAGER, Role.APPROVER, Role.OPS)


@require_POST
@role_required(*REMEASURERS)
def remeasure(request: HttpRequest, pk: int) -> HttpResponse:
    """The stale what-if's button: measure the proposal on the book as it is now."""
    proposal = get_object_or_404(_proposals(request), pk=pk)
    if not proposal.is_decidable:
        messages.error(request, f"Proposal #{proposal.pk} is decided: its what-if stays as it was.")
    else:
        result = services.refresh_what_if(proposal)
        if result.get("error"):
            messages.error(request, f"What-if of #{proposal.pk} not measured: {result['error']}")
        else:
            messages.success(
                request, f"What-if of #{proposal.pk} measured on the book as it is now."
            )
    return redirect(f"{reverse('proposals:blotter')}?portfolio={proposal.portfolio.code}")


@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager's or an approver's note on this proposal, in the journal."""
    proposal = get_object_or_404(_proposals(request), pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            journal.add_note(by=actor(request), note=form.cleaned_data["note"], proposal=proposal)
        except ValidationError as error:
            form.add_error("note", error.messages)
        else:
            messages.success(request, "Note added to the journal.")
            return redirect("proposals:detail", pk=proposal.pk)
    return detail(request, pk, note_form=form)


def _act(
    request: HtmxHttpRequest,
    proposal: Proposal,
    action: str,
    form: ServiceForm,
    call: Callable[[], str],
) -> HttpResponse:
    """Run one decision; answer htmx with the re-rendered row (errors inline, status 200)."""
    error = done = ""
    if form.is_valid():
        try:
            done = call()
        except PermissionDenied as refused:
            error = str(refused)
        except ValidationError as invalid:
            if hasattr(invalid, "error_dict"):
                form.add_service_errors(invalid)
            else:  # about the proposal itself (already decided, expired): above the row's forms
                error = " ".join(invalid.messages)
    if done:
        proposal = _proposals(request).get(pk=proposal.pk)
        context = _row(request, proposal, done=done)
    else:
        context = _row(request, proposal, action=action, form=form, error=error)
    if request.htmx:
        return render(request, "proposals/_proposal_row.html", {"row": context})
    # Without JavaScript: the outcome as a message, back to where the form was.
    if done:
        messages.success(request, f"Proposal #{proposal.pk}: {done}")
    else:
        problems = [error] if error else [str(m) for ms in form.errors.values() for m in ms]
        messages.error(request, f"Proposal #{proposal.pk}: {' '.join(problems)}")
    return redirect("proposals:detail", pk=proposal.pk)


def _decidable(request: HttpRequest, pk: int) -> Proposal:
    return get_object_or_404(_proposals(request), pk=pk)


@require_POST
def approve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Approve as proposed; a hard-limit breach needs an override note."""
    proposal = _decidable(request, pk)
    form = ApproveForm(request.POST, auto_id=f"p{pk}-approve-%s")

    def call() -> str:
        services.approve_proposal(proposal, by=actor(request), **form.cleaned_data)
        return "approved"

    return _act(request, proposal, "approve", form, call)


@require_POST
def reject(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Reject; the note is mandatory."""
    proposal = _decidable(request, pk)
    form = RejectForm(request.POST, auto_id=f"p{pk}-reject-%s")

    def call() -> str:
        services.reject_proposal(proposal, by=actor(request), note=form.cleaned_data["note"])
        return "rejected"

    return _act(request, proposal, "reject", form, call)


@require_POST
def modify(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Approve with changed terms; the note is mandatory, the original terms are kept."""
    proposal = _decidable(request, pk)
    form = ModifyForm(request.POST, proposal=proposal, auto_id=f"p{pk}-modify-%s")

    def call() -> str:
        data = form.cleaned_data
        services.modify_and_approve(
            proposal,
            by=actor(request),
            terms=form.terms(),
            note=data["note"],
            override_note=data["override_note"],
        )
        return "modified and approved"

    return _act(request, proposal, "modify", form, call)


@require_POST
def execute(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record the fill of an approved proposal as a trade."""
    proposal = _decidable(request, pk)
    form = ExecuteForm(request.POST, proposal=proposal, auto_id=f"p{pk}-execute-%s")

    def call() -> str:
        trade = services.execute_proposal(proposal, by=actor(request), **form.fill())
        return f"executed as trade #{trade.pk}"

    return _act(request, proposal, "execute", form, call)
