"""Error answers: the 500/503 pages (`handler500`) and the API's error bodies, each with the
request id.

A database that does not answer (refused, dropped, timed out) raises Django's
`OperationalError` or `InterfaceError` wherever it is first touched: the session or the user in
a middleware, or a view. Django turns an uncaught exception into `handler500` at the level
that raised it, so this one handler gives every page a 503 "database unavailable" (JSON under
/api/) without details. Nothing here touches the database or the session.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core import request_id

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 when the database is unavailable, else 500; HTML or JSON (/api/)."""
    error = sys.exc_info()[1]
    unavailable = isinstance(error, DATABASE_ERRORS)
    status = 503 if unavailable else 500
    message = "Database unavailable." if unavailable else "Server error."
    rid = request_id.get()
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "request_id": rid}, status=status)
    else:
        body = loader.render_to_string(f"{status}.html", {"request_id": rid})
        response = HttpResponse(body, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def service_error(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as DRF's 400 (field messages, else non_field_errors)."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with the request id in the body of every error that has a `detail`.

    API views let the services' errors propagate and this one place maps them: Django's
    `ValidationError` becomes a 400 (see `service_error`), its `PermissionDenied` a 403 with
    the service's message (DRF's own mapping), `Http404` a 404.

    Validation errors keep DRF's shape (field → messages): a `request_id` key among them would
    read as a field of that name to a client walking the errors. They, like every response,
    carry the id in the `X-Request-ID` header."""
    if isinstance(exc, DjangoValidationError):
        exc = service_error(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's handler500 (above) answers it
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data["request_id"] = request_id.get()
    return response
