"""The morning pack as an A4 PDF: WeasyPrint renders the print template, offline.

The print template inlines the site's stylesheets (screen, then print) in the order the browser
applies them, so the PDF and the browser's print of the page look alike. WeasyPrint needs Pango
from the operating system; when it cannot be loaded the page says which packages to install.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.utils.safestring import SafeString, mark_safe

INSTALL_HINT = (
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
    "(Debian/Ubuntu; the Docker image needs them too)"
)
STYLESHEETS = ("css/pms.css", "css/print.css")


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the system libraries it loads, is not installed."""


def stylesheets() -> dict[str, SafeString]:
    """The site's stylesheets by name ("pms", "print"), to inline in the print template."""
    return {Path(name).stem: _stylesheet(name) for name in STYLESHEETS}


def _stylesheet(name: str) -> SafeString:
    path = finders.find(name)
    if not path:
        raise FileNotFoundError(f"static file {name} not found")
    # Our own CSS inside <style>: only a literal "</" could end the element early.
    return mark_safe(Path(str(path)).read_text(encoding="utf-8").replace("</", "<\\/"))


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML document (any URL it names is refused, not fetched)."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as error:  # OSError: cannot load library 'libpango-1.0-0'
        raise PdfUnavailable(
            f"WeasyPrint cannot start: {error}. Install: {INSTALL_HINT}."
        ) from None
    # data: URIs only: nothing on the network or the disk is read while rendering.
    offline = URLFetcher(allowed_protocols=("data",))
    pdf: bytes = HTML(string=html, url_fetcher=offline).write_pdf()
    return pdf
