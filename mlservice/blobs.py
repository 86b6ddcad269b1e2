"""Blob storage for BES jobs, through azure-storage-blob.

A blob reference is what a BES client submits: {ConnectionString,
RelativeLocation} or {BaseLocation, RelativeLocation, SasBlobToken}. Every
client made here has connection and read timeouts and few retries, so an
unreachable storage account fails a job within seconds, not minutes.

Messages raised from here (StorageProblem) end up in a job's Details: they
name the account, container and blob, never a key or a token.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient, BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

from mlservice import egress

CHUNK = 4 * 1024 * 1024


class StorageProblem(Exception):
    """A storage failure a person can act on; the message is safe to show."""


@dataclass
class BlobRef:
    client: BlobClient
    container: str
    name: str
    role: str  # "input1" or "output1", for messages
    service_url: str  # the account's endpoint, ending with "/"
    account_key: str | None = None

    @property
    def where(self) -> str:
        return f"'{self.container}/{self.name}' at {self.service_url}"


def split_location(relative: str) -> tuple[str, str]:
    container, _, name = relative.strip().lstrip("/").partition("/")
    return container, name


def unreachable(role: str, action: str, service_url: str) -> StorageProblem:
    # One message whether the endpoint is not allowed, does not resolve, refuses
    # the connection or times out: a job must not tell which addresses answer.
    return StorageProblem(
        f"Cannot {action} {role}: the blob storage at {service_url} could not be reached. Check the "
        "BlobEndpoint/AccountName of the connection string (or the BaseLocation), that the storage is running, "
        "and that its host is one this web service may use (MLSERVICE_STORAGE_ALLOWED_HOSTS)."
    )


def check_endpoint(url: str, role: str, allowed: egress.AllowList) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or not allowed.permits_host(parts.hostname, port):
        raise unreachable(role, "read" if role.startswith("input") else "write", url)


def open_blob(ref: dict, role: str, *, timeout: float, retries: int, allowed: egress.AllowList) -> BlobRef:
    options = {
        # Every connection is checked against the allow-list after DNS
        # resolution, and a redirect is an error, not a new destination.
        "transport": egress.GuardedTransport(allowed),
        "permit_redirects": False,
        "connection_timeout": timeout,
        "read_timeout": timeout,
        "retry_total": retries,
        "retry_backoff_factor": 0.5,
        "max_single_get_size": CHUNK,
        "max_chunk_get_size": CHUNK,
        "max_block_size": CHUNK,
    }
    container, name = split_location(ref["RelativeLocation"])
    if not container or not name:
        raise StorageProblem(
            f"The RelativeLocation of {role} must be /container/blob, not '{ref['RelativeLocation']}'."
        )
    if ref.get("ConnectionString"):
        try:
            service = BlobServiceClient.from_connection_string(ref["ConnectionString"], **options)
        except (ValueError, AzureError) as e:
            # The SDK's message quotes no secrets, but keep ours generic anyway.
            raise StorageProblem(
                f"The ConnectionString of {role} is not a valid storage connection string "
                f"(expected AccountName=...;AccountKey=...[;BlobEndpoint=...]): {type(e).__name__}."
            ) from None
        url = service.url if service.url.endswith("/") else service.url + "/"
        key = getattr(service.credential, "account_key", None)
        check_endpoint(url, role, allowed)
        return BlobRef(service.get_blob_client(container, name), container, name, role, url, key)
    base = ref["BaseLocation"].rstrip("/") + "/"
    sas = ref["SasBlobToken"].lstrip("?")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StorageProblem(
            f"The BaseLocation of {role} must be an http(s) URL such as https://account.blob.core.windows.net/."
        )
    check_endpoint(base, role, allowed)
    url = f"{base}{quote(container)}/{quote(name)}?{sas}"
    return BlobRef(BlobClient.from_blob_url(url, **options), container, name, role, base)


def explain(error: Exception, blob: BlobRef, action: str) -> StorageProblem:
    """A storage exception as a message that says what to fix."""
    if isinstance(error, ResourceNotFoundError):
        code = getattr(error, "error_code", None) or ""
        if "Container" in str(code):
            return StorageProblem(
                f"Cannot {action} {blob.role}: the container '{blob.container}' does not exist at {blob.service_url}."
            )
        return StorageProblem(
            f"Cannot {action} {blob.role}: the blob {blob.where} does not exist. Upload it first, or fix the RelativeLocation."
        )
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code == 403
    ):
        return StorageProblem(
            f"Cannot {action} {blob.role}: the storage account at {blob.service_url} refused the credentials. "
            "Check the AccountKey of the connection string, or that the SAS token is valid, unexpired and allows it."
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return unreachable(blob.role, action, blob.service_url)
    if isinstance(error, HttpResponseError):
        return StorageProblem(
            f"Cannot {action} {blob.role} {blob.where}: storage answered {error.status_code} {getattr(error, 'reason', '')}.".strip()
        )
    return StorageProblem(f"Cannot {action} {blob.role} {blob.where}: {type(error).__name__}.")


def download_chunks(blob: BlobRef) -> Iterator[bytes]:
    """The blob's bytes, 4 MiB at a time; storage errors as StorageProblem."""
    try:
        stream = blob.client.download_blob(max_concurrency=1)
        yield from stream.chunks()
    except AzureError as e:
        raise explain(e, blob, "read") from None


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks, for io.TextIOWrapper and csv."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


class BlockWriter:
    """Text written to a block blob in staged blocks of a few MiB, committed at the end.

    Nothing is visible at the blob's name until commit(): a cancelled or
    failed job leaves no half-written results behind (uncommitted blocks are
    dropped by storage).
    """

    def __init__(self, blob: BlobRef, *, block_size: int = CHUNK, timeout: float = 60.0) -> None:
        self.blob, self.block_size, self.timeout = blob, block_size, timeout
        self._parts: list[str] = []
        self._size = 0
        self._blocks: list[str] = []
        self._prefix = uuid.uuid4().hex[:16]

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self.block_size:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._parts:
            return
        data = "".join(self._parts).encode("utf-8")
        self._parts, self._size = [], 0
        block_id = f"{self._prefix}{len(self._blocks):08d}"
        try:
            self.blob.client.stage_block(block_id, data, length=len(data), timeout=self.timeout)
        except AzureError as e:
            raise explain(e, self.blob, "write") from None
        self._blocks.append(block_id)

    def commit(self) -> None:
        self.flush()
        try:
            self.blob.client.commit_block_list(
                self._blocks,
                content_settings=ContentSettings(content_type="text/csv; charset=utf-8"),
                timeout=self.timeout,
            )
        except AzureError as e:
            raise explain(e, self.blob, "write") from None


def results_location(blob: BlobRef, *, submitted_sas: str | None, hours: int) -> dict:
    """BES Results for one output: where to fetch it, with a read-only SAS that expires."""
    if blob.account_key:
        now = datetime.now(UTC)
        token = generate_blob_sas(
            account_name=blob.client.account_name,
            container_name=blob.container,
            blob_name=blob.name,
            account_key=blob.account_key,
            permission=BlobSasPermissions(read=True),
            start=now - timedelta(minutes=5),  # tolerate clock skew
            expiry=now + timedelta(hours=hours),
            protocol="https" if blob.service_url.startswith("https") else "https,http",
        )
        sas = "?" + token
    else:
        # Without an account key we cannot sign; the caller's own token is the one that works.
        sas = "?" + (submitted_sas or "").lstrip("?")
    return {
        "ConnectionString": None,
        "RelativeLocation": f"{blob.container}/{blob.name}",
        "BaseLocation": blob.service_url,
        "SasBlobToken": sas,
    }
