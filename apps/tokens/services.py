"""Issue and revoke API tokens; the one place keys are made and hashed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.tokens.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)
KEY_PREFIX = "pms_"  # tells a PMS key in a config file or a leak scanner
PREFIX_CHARS = 12  # "pms_" and 8 random characters: shown in lists, never enough to guess


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time the key exists in clear: give it to the caller, store nothing


def digest(key: str) -> str:
    """SHA-256 of the key. The keys are 256 random bits, so a fast unsalted digest is safe
    (nothing to brute-force) and lets a request find its token by an indexed lookup."""
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(user: User, *, name: str, days: int | None = None) -> IssuedToken:
    """A new token for `user`, valid `days` (settings.API_TOKEN_DAYS by default)."""
    days = settings.API_TOKEN_DAYS if days is None else days
    if days < 1:
        raise ValidationError({"days": "A token is valid for at least one day."})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        prefix=key[:PREFIX_CHARS],
        key_hash=digest(key),
        expires_at=timezone.now() + timedelta(days=days),
    )
    log.info("API token %s issued to %s, expires %s", token.prefix, user, token.expires_at)
    return IssuedToken(token, key)


@transaction.atomic
def revoke_token(token: ApiToken, *, by: User) -> ApiToken:
    """Revoke `token` now (its owner, or whoever may change tokens in the back office)."""
    if by.pk != token.user_id and not by.has_perm("tokens.change_apitoken"):
        raise PermissionDenied("Only the token's owner or ops may revoke it.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = timezone.now(), by
        token.save(update_fields=["revoked_at", "revoked_by"])
        log.info("API token %s of %s revoked by %s", token.prefix, token.user, by)
    return token
