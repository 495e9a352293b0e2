"""Issue an API token for a user and print its key (shown this once)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.tokens.services import issue_token


class Command(BaseCommand):
    help = "Issue an API token for USERNAME; prints the key once (it is stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument("--days", type=int, help="Validity (default API_TOKEN_DAYS).")

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_user_model()
        try:
            user = model.objects.get(username=options["username"])
        except model.DoesNotExist as error:
            raise CommandError(f"no user {options['username']!r}") from error
        issued = issue_token(user, name=options["name"], days=options["days"])
        expires = f"{issued.token.expires_at:%Y-%m-%d}"
        self.stderr.write(f"{issued.token.name} for {user}, expires {expires}")
        self.stdout.write(issued.key)
