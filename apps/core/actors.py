"""Who acts: services take the signed-in `User` (`by: User`), never `Any`.

Views and admin actions sit behind a login or role check, so `request.user` is a `User` there;
these helpers say so to the type checker, and refuse (403) an anonymous user should one ever
reach a service call.
"""

from __future__ import annotations

from typing import Protocol

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied


class _HasUser(Protocol):
    @property
    def user(self) -> object: ...


def acting_user(user: object) -> User:
    """`user` as the acting `User`; PermissionDenied for anyone else (anonymous, None)."""
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user


def actor(request: _HasUser) -> User:
    """The request's signed-in user, as the services' `by`."""
    return acting_user(request.user)
