"""The batch job panel's uploads: the developer's CSV into the job's storage.

azure-storage-blob with the console's own timeouts and no retries beyond one,
so an unreachable storage is an error on the panel within seconds. The
storage is the one configured (CONSOLE_BATCH_STORAGE), never one a developer
names, so the portal connects nowhere nobody allowed.
"""

from __future__ import annotations

import uuid

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient, ContentSettings


class UploadFailed(Exception):
    """The storage refused or did not answer; the message is safe to show."""


def upload_input(connection_string: str, container: str, owner: str, data: bytes, *, timeout: float) -> tuple[str, str]:
    """Upload the CSV under a fresh folder; (input, output) RelativeLocations for BES."""
    folder = f"{owner}/{uuid.uuid4().hex}"
    try:
        service = BlobServiceClient.from_connection_string(
            connection_string, connection_timeout=timeout, read_timeout=timeout, retry_total=1
        )
        client = service.get_container_client(container)
        if not client.exists():
            client.create_container()
        client.upload_blob(
            f"{folder}/input.csv",
            data,
            overwrite=False,
            content_settings=ContentSettings(content_type="text/csv; charset=utf-8"),
            timeout=int(timeout),
        )
    except (AzureError, ValueError) as e:
        # The connection string holds the account key: name the endpoint only.
        where = getattr(locals().get("service"), "primary_hostname", "") or "the configured storage"
        raise UploadFailed(f"Could not upload the file to {where}: {type(e).__name__}.") from None
    return f"/{container}/{folder}/input.csv", f"/{container}/{folder}/results.csv"
