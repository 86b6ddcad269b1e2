"""Fixtures for the embedded AzureML service: a web service, and a real Azurite."""

from __future__ import annotations

import pytest


@pytest.fixture
def service(db):
    from mlservice.models import WebService

    return WebService.objects.create(name="Guide's Feature Hashing", bits=3, ngrams=2, target_column="Col2")


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory):
    """A real Azurite blob service on a free port, in a temporary folder, for the session."""
    import os

    from mlservice import azurite as local

    if not local.BINARY.exists():
        message = "Azurite is not installed (node_modules/.bin/azurite-blob): run `npm ci`, as `make test` does."
        if os.getenv("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = local.start(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture
def azurite(azurite_server, settings):
    """The session's Azurite, on the worker's storage allow-list as `make run`'s own Azurite is."""
    settings.MLSERVICE_STORAGE_ALLOWED_HOSTS = [
        *settings.MLSERVICE_STORAGE_ALLOWED_HOSTS,
        f"{azurite_server.host}:{azurite_server.port}",
    ]
    return azurite_server


@pytest.fixture
def container(azurite):
    """A fresh blob container; yields its ContainerClient."""
    import uuid

    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        f"test{uuid.uuid4().hex[:12]}"
    )
    yield client
    client.delete_container()


@pytest.fixture
def staff(django_user_model):
    """A staff member; no password, so no slow hashing (tests log in with force_login)."""
    return django_user_model.objects.create(username="operator", is_staff=True)


@pytest.fixture
def developer(django_user_model):
    return django_user_model.objects.create(username="dev")
