"""A B3 upload is streamed with a cap: a nested zip bomb (a 306 kB upload that unpacks to
300 MB took a worker from 170 to 477 MB) is refused having held a few MB, and the upload
itself is capped before the importer sees it."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from apps.marketdata.forms import B3ReportUploadForm
from apps.marketdata.importers import ImportFailed, import_b3_report
from apps.marketdata.importers.b3_report import MAX_UNZIPPED_BYTES
from apps.marketdata.models import SettlementPrice

pytestmark = pytest.mark.django_db

HEAD = b'<?xml version="1.0"?><Document xmlns="urn:bvmf.052.01.xsd">'


def nested_bomb(path: Path, megabytes: int) -> Path:
    """bulk.zip (deflated, small) ⊃ SPRD.zip (stored, `megabytes` MB) ⊃ one XML of spaces."""
    inner = path.with_suffix(".inner")
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive,
        archive.open("BVBG.187.01_x.xml", "w", force_zip64=True) as xml,
    ):
        xml.write(HEAD)
        for _ in range(megabytes):
            xml.write(b" " * 2**20)
        xml.write(b"</Document>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, "SPRD250203.zip")
    inner.unlink()
    return path


def test_a_nested_zip_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    bomb = nested_bomb(tmp_path / "bulk.zip", MAX_UNZIPPED_BYTES // 2**20 + 16)
    assert bomb.stat().st_size < 200 * 2**10
    tracemalloc.start()
    try:
        with pytest.raises(ImportFailed) as failure, bomb.open("rb") as handle:
            import_b3_report(handle, filename="bulk.zip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert failure.value.errors == [
        "bulk.zip/SPRD250203.zip: unpacks to more than 64 MB; a daily BVBG.187 report is about "
        "5 MB (refused unread)"
    ]
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert not SettlementPrice.objects.exists()


def test_a_damaged_member_is_an_import_error(tmp_path: Path) -> None:
    path = tmp_path / "SPRD.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BVBG.187.01_x.xml", HEAD + b" " * 100_000 + b"</Document>")
    data = bytearray(path.read_bytes())
    data[60:70] = b"\xff" * 10  # inside the deflated member
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFailed, match=r"SPRD\.zip: damaged zip archive"):
        import_b3_report(path)


def test_the_upload_form_caps_the_size(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPLOAD_MAX_BYTES = 1000
    upload = SimpleUploadedFile("SPRD.zip", b"x" * 1001)
    form = B3ReportUploadForm(files=MultiValueDict({"file": [upload]}))
    assert not form.is_valid()
    assert form.errors["file"] == ["The file is larger than the 1,000-byte limit (1,001 bytes)."]
