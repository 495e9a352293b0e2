"""Facts about a user that every page asks for (their role names, the funds they may see),
kept in their session under the user's data version.

Each fact has a loader (`register`); `fact(user, name)` answers from the user object if asked
before in this request, else from the session's copy if it was stored at the user's current
version (`DataVersion` scope `user:<id>`), else from the loader, then keeps it in the session.
Anything that changes a fact bumps the user's version (`bump_user`): a change of their groups
here (`m2m_changed`, either side of the relation), a change of their fund grants in the app
that owns them. The version comes from the data versions a cached page reads anyway
(`core.versions`): a cached page costs three queries (session, user, versions), and any other
page reads the versions in place of the roles. A login stores every fact in the new session
(saved by the login itself), so the first page after it writes no session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from apps.core.cache import bump_user
from apps.core.versions import request_versions

SESSION_KEY = "_pms_facts"  # {"v": version, "<fact>": value, ...}
Loader = Callable[[Any], Any]  # user → a JSON-serialisable value

_loaders: dict[str, Loader] = {}


def register(name: str, loader: Loader) -> None:
    """Say how to load the fact `name` of a user (each owner registers its own)."""
    _loaders[name] = loader


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


def fact(user: Any, name: str) -> Any:
    """The fact `name` of `user`, from the user object, the session or its loader."""
    known: dict[str, Any] | None = getattr(user, "_pms_facts", None)
    if known is None:
        known = {}
        setattr(user, "_pms_facts", known)  # noqa: B010 (through a lazy user too)
    if name not in known:
        kept: SessionFacts | None = getattr(user, "_pms_facts_kept", None)
        found = kept.load(name) if kept is not None else _MISSING
        if found is _MISSING:
            found = _loaders[name](user)
            if kept is not None:
                kept.store(name, found)
        known[name] = found
    return known[name]


_MISSING = object()


class SessionFacts:
    """A request's session copy of its user's facts, valid at the user's current version."""

    def __init__(self, request: HttpRequest, user_id: int) -> None:
        self.request, self.user_id = request, user_id

    def _version(self) -> int:
        return request_versions(self.request).get(user_scope(self.user_id), 0)

    def load(self, name: str) -> Any:
        kept = self.request.session.get(SESSION_KEY)
        if not isinstance(kept, dict) or kept.get("v") != self._version() or name not in kept:
            return _MISSING
        return kept[name]

    def store(self, name: str, value: Any) -> None:
        kept = self.request.session.get(SESSION_KEY)
        version = self._version()
        if not isinstance(kept, dict) or kept.get("v") != version:
            kept = {"v": version}
        self.request.session[SESSION_KEY] = {**kept, name: value}


class UserFactsMiddleware:
    """After AuthenticationMiddleware: the request's user (still loaded lazily) learns where
    its facts are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = SimpleLazyObject(lambda: _with_session_facts(request))  # type: ignore[assignment]
        return self.get_response(request)


def _with_session_facts(request: HttpRequest) -> Any:
    user = get_user(request)
    if user.is_authenticated and hasattr(request, "session"):
        setattr(user, "_pms_facts_kept", SessionFacts(request, user.pk))  # noqa: B010
    return user


def logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A login keeps every fact in the new session (saved by the login itself)."""
    if request is None or not hasattr(request, "session"):
        return
    kept = SessionFacts(request, user.pk)
    values = {name: loader(user) for name, loader in _loaders.items()}
    for name, value in values.items():
        kept.store(name, value)
    setattr(user, "_pms_facts", values)  # noqa: B010


def groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's groups changed (either side of the relation): their kept facts are stale."""
    if not action.startswith("post_"):
        return
    if not reverse:
        bump_user(instance.pk)
    elif action == "post_clear":  # a group emptied: its former members are unknown here
        for user_id in User.objects.values_list("pk", flat=True):
            bump_user(user_id)
    else:
        for user_id in pk_set or ():
            bump_user(user_id)


def connect() -> None:
    m2m_changed.connect(groups_changed, sender=User.groups.through, dispatch_uid="user_facts")
    user_logged_in.connect(logged_in, dispatch_uid="user_facts_login")
