"""`Authorization: Token <key>` against the hashed, expiring, revocable ApiToken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.tokens.models import ApiToken
from apps.tokens.services import digest

# last_used_at is written at most this often per token: a write per API call would cost more
# than the call's own reads.
TOUCH_EVERY = timedelta(minutes=5)


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and `WWW-Authenticate: Token` challenge; our token store."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        now = timezone.now()
        token = ApiToken.objects.select_related("user").filter(key_hash=digest(key)).first()
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise AuthenticationFailed("Invalid token.")
        if token.expires_at <= now:
            raise AuthenticationFailed("Token expired.")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
