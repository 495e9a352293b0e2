"""A user's role names travel in their session, under the user's data version.

Every page asks for the user's roles (navigation, the banner, permission checks). Rather than
a query on `auth_user_groups` per request, the names are kept in the session with the version
of the scope `user:<id>` they were read at; a change of the user's groups bumps that version
(`m2m_changed`), so the next request finds the session's copy out of date and reads the groups
again. The version comes from the data versions a cached page reads anyway (`core.versions`):
a cached page costs three queries (session, user, versions), any other page the same number
it did (the versions' query in place of the roles')."""

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

SESSION_KEY = "_pms_roles"  # [version, [role names]]


class SessionRoles:
    """What `roles.role_names` asks of a request's user: the session's copy, if current."""

    def __init__(self, request: HttpRequest, user_id: int) -> None:
        self.request, self.user_id = request, user_id

    def _version(self) -> int:
        return request_versions(self.request).get(user_scope(self.user_id), 0)

    def load(self) -> frozenset[str] | None:
        kept = self.request.session.get(SESSION_KEY)
        if not isinstance(kept, list) or len(kept) != 2 or kept[0] != self._version():
            return None
        return frozenset(kept[1])

    def store(self, names: frozenset[str]) -> None:
        self.request.session[SESSION_KEY] = [self._version(), sorted(names)]


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


class SessionRolesMiddleware:
    """After AuthenticationMiddleware: the request's user (still loaded lazily) learns where
    its role names are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = SimpleLazyObject(lambda: _with_session_roles(request))  # type: ignore[assignment]
        return self.get_response(request)


def _with_session_roles(request: HttpRequest) -> Any:
    user = get_user(request)
    if user.is_authenticated and hasattr(request, "session"):
        setattr(user, "_pms_roles_kept", SessionRoles(request, user.pk))  # noqa: B010
    return user


def logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A login keeps the roles in the new session (saved by the login itself): the first page
    after it reads no groups and writes no session."""
    if request is not None and hasattr(request, "session"):
        roles = frozenset(user.groups.values_list("name", flat=True))
        SessionRoles(request, user.pk).store(roles)
        user._pms_roles = roles


def groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """A user's groups changed (either side of the relation): their kept roles are stale."""
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
    m2m_changed.connect(groups_changed, sender=User.groups.through, dispatch_uid="session_roles")
    user_logged_in.connect(logged_in, dispatch_uid="session_roles_login")
