"""manage.py verify_journal [--backup DIR]: recompute the hash chain, check its head against the
latest anchor, and name the first broken or missing entry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.journal.anchors import Anchor, from_backup, latest
from apps.journal.models import Entry
from apps.journal.services import verify


class Command(BaseCommand):
    help = (
        "Recompute every journal entry's SHA-256 and link, then check the head against the "
        "latest anchor (pipeline runs, morning packs, --backup); exit 1 at the first broken or "
        "missing entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backup",
            type=Path,
            metavar="DIR",
            help="Also check against the journal head recorded in this backup's meta.json.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra: list[Anchor] = []
        if options["backup"] is not None:
            try:
                backup = from_backup(options["backup"])
            except (OSError, ValueError, KeyError) as error:
                raise CommandError(f"cannot read the backup's journal head: {error}") from error
            extra += [backup] if backup else []
        started = time.perf_counter()
        broken = verify(anchors=extra)
        elapsed = time.perf_counter() - started
        if broken is not None:
            raise CommandError(f"Journal chain BROKEN at entry #{broken.seq}: {broken.reason}")
        count = Entry.objects.count()
        anchor = latest(extra)
        against = (
            f"the latest anchor, #{anchor.seq} from the {anchor.source}, matches"
            if anchor
            else "no anchor recorded yet"
        )
        self.stdout.write(
            f"Journal chain intact: {count:,} entries verified in {elapsed:.2f} s; {against}."
        )
