"""A report printed to PDF by headless Chromium through Playwright (``page.pdf``).

Chromium is the system's (``chromium``, ``chromium-browser`` or ``google-chrome`` on the PATH,
or ``$WORKBENCH_CHROMIUM``): nothing downloads a browser. The page is loaded from its file with
every other request refused, so the PDF shows exactly what the offline report shows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["CHROMIUM_ENV", "chromium_path", "print_pdf"]

CHROMIUM_ENV = "WORKBENCH_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str:
    """The Chromium executable to print with."""
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        if not Path(chosen).is_file():
            raise WorkbenchError(f"${CHROMIUM_ENV} names {chosen}, which does not exist",
                                 hint=f"point ${CHROMIUM_ENV} at a Chromium executable")
        return chosen
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise WorkbenchError("--pdf needs Chromium, and none is installed",
                         hint=f"install it (Debian: apt-get install chromium) or set "
                         f"${CHROMIUM_ENV} to its path")


def print_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print the report at ``html_path`` to ``pdf_path`` (A4, backgrounds kept)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith("file:") else route.abort())
            page.goto(Path(html_path).resolve().as_uri(), wait_until="load")
            tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
            page.pdf(path=str(tmp), format="A4", print_background=True,
                     margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            tmp.replace(pdf_path)
        finally:
            browser.close()
    return pdf_path
