"""manage.py verify_journal: recompute the hash chain and name the first broken entry."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.journal.models import Entry
from apps.journal.services import verify


class Command(BaseCommand):
    help = "Recompute every journal entry's SHA-256 and link; exit 1 at the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        broken = verify()
        elapsed = time.perf_counter() - started
        if broken is not None:
            raise CommandError(f"Journal chain BROKEN at entry #{broken.seq}: {broken.reason}")
        count = Entry.objects.count()
        self.stdout.write(f"Journal chain intact: {count:,} entries verified in {elapsed:.2f} s.")
