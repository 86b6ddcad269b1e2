"""Fixtures for the embedded AzureML service: a web service, and a real Azurite."""

from __future__ import annotations

import pytest


@pytest.fixture
def service(db):
    from mlservice.models import WebService

    return WebService.objects.create(name="Guide's Feature Hashing", bits=3, ngrams=2, target_column="Col2")
