"""Home and liveness."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.ops.navigation import items_for


def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the first page their roles open."""
    entries = items_for(request.user, request.path)
    if entries:
        return redirect(entries[0]["url"])
    return render(request, "ops/no_access.html", status=403)


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers; no dependency is touched."""
    return JsonResponse({"status": "ok"})
