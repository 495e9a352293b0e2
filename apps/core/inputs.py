"""Hostile input stops at the door with a 4xx, once for every page and API call.

PostgreSQL refuses a NUL byte in text; a parameter or field carrying one would otherwise reach
a query and answer 500. `BadInputMiddleware` checks the path, the headers and cookies, the
query string and the form fields of every request (400), and refuses a body declared larger
than UPLOAD_MAX_BYTES (413) before reading it. `SafeJSONParser` checks every JSON string and
key of an API body and refuses nesting deeper than `API_MAX_JSON_DEPTH` (the C decoder
recurses: a deep enough body is a RecursionError). `CappedPagination` caps `limit`
(`API_MAX_PAGE_SIZE`) so a huge one never reaches SQL as a bigint out of range. Free text
(notes, reasons, rationales) is at most `TEXT_MAX_LENGTH` characters: `FreeTextField` on
pages, `FreeTextSerializerField` in the API, and the journal refuses a longer note whatever
the path (it keeps entries forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.html import escape
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser

NUL = "\x00"
NUL_MESSAGE = "The request contains a NUL character (\\x00), which is not allowed."


def _has_nul(pairs: Iterable[tuple[str, list[Any]]]) -> bool:
    return any(
        NUL in key or any(isinstance(v, str) and NUL in v for v in values) for key, values in pairs
    )


def request_has_nul(request: HttpRequest) -> bool:
    """A NUL in the path, a header (cookies and tokens included), a query parameter (name or
    value) or a form field of `request`."""
    headers = (v for k, v in request.META.items() if k.startswith("HTTP_") and isinstance(v, str))
    if NUL in request.path_info or any(NUL in v for v in headers):
        return True
    # A quoted cookie may spell a NUL as \000: check the values as Django decoded them.
    cookies = ((name, [value]) for name, value in request.COOKIES.items())
    if _has_nul(cookies) or _has_nul(request.GET.lists()):
        return True
    # Django parses only POST bodies into request.POST (form or multipart); file names too.
    if request.method == "POST":
        files = ((name, [f.name for f in fs]) for name, fs in request.FILES.lists())
        return _has_nul(request.POST.lists()) or _has_nul(files)
    return False


def bad_request(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """A 4xx in the caller's language: JSON `{"detail": …}` for the API, a short page else."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    page = f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(message)}"
    return HttpResponse(page, status=status)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class BadInputMiddleware:
    """413 for a body declared larger than an upload may be (checked before it is read); 400
    for a NUL byte anywhere in the path, query string or form body (see module doc)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit = settings.UPLOAD_MAX_BYTES + 2**20  # the multipart envelope around the file
        if _declared_length(request) > limit:
            message = f"The request is larger than the {limit // 2**20} MB limit."
            return bad_request(request, message, status=413)
        if request_has_nul(request):
            return bad_request(request, NUL_MESSAGE)
        return self.get_response(request)


def check_json(value: Any, *, max_depth: int) -> None:
    """ParseError for nesting deeper than `max_depth` or a NUL in any string or key.

    Iterative (an explicit stack), so checking a deep document cannot itself recurse."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                raise ParseError(NUL_MESSAGE)
        elif isinstance(item, Mapping | list):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels.")
            children = item.items() if isinstance(item, Mapping) else enumerate(item)
            for key, child in children:
                if isinstance(key, str) and NUL in key:
                    raise ParseError(NUL_MESSAGE)
                stack.append((child, depth + 1))


class SafeJSONParser(JSONParser):
    """DRF's JSON parser with the depth and NUL checks of `check_json` (every API body)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON nested deeper than {settings.API_MAX_JSON_DEPTH} levels."
            ) from None
        check_json(data, max_depth=settings.API_MAX_JSON_DEPTH)
        return data


class CappedPagination(LimitOffsetPagination):
    """`limit` at most API_MAX_PAGE_SIZE. (An `offset` past the end never reaches SQL: DRF
    answers an empty page after its count.)"""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.API_MAX_PAGE_SIZE)


def too_long_message(limit: int) -> str:
    return f"Too long: at most {limit:,} characters."


class FreeTextField(forms.CharField):
    """A page's free-text field: at most TEXT_MAX_LENGTH characters unless told otherwise."""

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        limit = max_length or settings.TEXT_MAX_LENGTH
        messages = {"max_length": f"{too_long_message(limit)} (This text has %(show_value)s.)"}
        super().__init__(max_length=limit, error_messages=messages, **kwargs)


class FreeTextSerializerField(serializers.CharField):
    """The API's free-text field: at most TEXT_MAX_LENGTH characters unless told otherwise."""

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        limit = max_length or settings.TEXT_MAX_LENGTH
        messages: dict[str, Any] = {"max_length": too_long_message(limit)}
        super().__init__(max_length=limit, error_messages=messages, **kwargs)
