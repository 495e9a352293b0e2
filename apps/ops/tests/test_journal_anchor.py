"""The chain head anchored outside the journal table, so that deleting entries from the end
(which leaves a shorter chain that still verifies) is found and the missing entries named."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.journal.models import Entry, EntryKind
from apps.journal.services import record, verify
from apps.ops.models import PipelineRun
from apps.ops.pipelines import run_pipeline
from apps.ops.tests.support import delete_last_entries, long_wdo

pytestmark = pytest.mark.django_db

D1 = date(2025, 2, 3)


@pytest.fixture
def anchored(book_at: Any, settings: Any) -> PipelineRun:
    """An EOD run of a small fund: its journal entry is the head it anchors."""
    settings.PIPELINE_RETRY_DELAYS = []
    book = long_wdo(book_at, through=D1)
    outcome = run_pipeline("eod", book.portfolio, D1)
    assert outcome.status == "ran" and outcome.run is not None
    return outcome.run


def test_a_pipeline_run_records_the_chain_head(anchored: PipelineRun) -> None:
    head = Entry.objects.order_by("-seq").first()
    assert head is not None and head.kind == EntryKind.PIPELINE_RUN
    anchored.refresh_from_db()
    assert (anchored.journal_seq, anchored.journal_hash) == (head.seq, head.hash)
    assert verify() is None


def test_deleting_the_last_entries_is_found_and_named(anchored: PipelineRun) -> None:
    head = Entry.objects.order_by("-seq").values_list("seq", flat=True)[0]
    assert head >= 3
    delete_last_entries(3)

    broken = verify()

    assert broken is not None and broken.seq == head - 2
    assert f"entries #{head - 2}–#{head} are missing (3 entries)" in broken.reason
    assert f"the chain ends at #{head - 3}" in broken.reason
    assert f"pipeline run eod {D1:%Y-%m-%d}" in broken.reason
    with pytest.raises(CommandError, match=f"BROKEN at entry #{head - 2}: entries #{head - 2}"):
        call_command("verify_journal", stdout=StringIO())


def test_entries_written_over_a_deleted_tail_do_not_match_the_anchor(
    anchored: PipelineRun, pm_alice: Any
) -> None:
    head = Entry.objects.order_by("-seq").values_list("seq", flat=True)[0]
    delete_last_entries(2)
    for i in range(3):  # the app carries on: the chain verifies again, seq passes the anchor
        record(kind=EntryKind.NOTE, actor=pm_alice, on_date=D1, note=f"after {i}")

    broken = verify()

    assert broken is not None and broken.seq == head
    assert f"entry #{head} is not the one anchored by the pipeline run eod" in broken.reason


def test_a_backup_manifest_anchors_the_head_for_verify_journal(
    anchored: PipelineRun, tmp_path: Path
) -> None:
    head = Entry.objects.order_by("-seq").first()
    assert head is not None
    (tmp_path / "meta.json").write_text(
        json.dumps({"journal_head": {"seq": head.seq + 4, "hash": "ab" * 32}})
    )

    with pytest.raises(CommandError) as failed:
        call_command("verify_journal", "--backup", str(tmp_path), stdout=StringIO())

    assert f"entries #{head.seq + 1}–#{head.seq + 4} are missing (4 entries)" in str(failed.value)
    assert f"backup {tmp_path.name}" in str(failed.value)


def test_an_intact_chain_reports_the_anchor_it_was_checked_against(
    anchored: PipelineRun,
) -> None:
    out = StringIO()
    call_command("verify_journal", stdout=out)
    assert f"the latest anchor, #{anchored.journal_seq} from the pipeline run eod" in out.getvalue()
