"""The README's screenshots, taken by the browser tests when asked: `make screenshots`
(UPDATE_SCREENSHOTS=1), so that an ordinary test run never dirties the work tree."""

from __future__ import annotations

import os
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def screenshot(page, name: str, *, selector: str | None = None, full_page: bool = False) -> None:
    """docs/<name>-<viewport width>.png: the page (or one element of it) as it is now."""
    if os.getenv("UPDATE_SCREENSHOTS") != "1":
        return
    DOCS.mkdir(exist_ok=True)
    path = str(DOCS / f"{name}-{page.viewport_size['width']}.png")
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=full_page)
