"""The BES worker connects only to allowed storage: no job can point it at another address."""

from __future__ import annotations

import socket
import threading

import pytest

from mlservice import egress
from tests.mlservice.test_bes import call, failed_details, ref, upload


class Listener:
    """A TCP listener on a loopback port that counts who connects and can answer one canned reply."""

    def __init__(self, reply: bytes = b"") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.reply, self.connections, self.closed = reply, 0, False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                if self.reply:
                    conn.settimeout(2)
                    try:
                        conn.recv(65536)
                        conn.sendall(self.reply)
                    except OSError:
                        pass

    def close(self) -> None:
        self.closed = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def quick_storage(settings):
    settings.MLSERVICE_STORAGE_TIMEOUT = 2
    settings.MLSERVICE_STORAGE_RETRIES = 0


KEY = "a2V5" * 8


def targets(port: int) -> dict[str, dict]:
    """Every way a job can name a storage endpoint, each pointed at 127.0.0.1:port."""
    return {
        "BlobEndpoint": {
            "ConnectionString": f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/acct;"
        },
        "BlobEndpoint by name": {
            "ConnectionString": f"AccountName=acct;AccountKey={KEY};BlobEndpoint=http://localhost:{port}/acct;"
        },
        "BlobEndpoint, IPv4-mapped IPv6": {
            "ConnectionString": f"AccountName=acct;AccountKey={KEY};BlobEndpoint=http://[::ffff:127.0.0.1]:{port}/a;"
        },
        "AccountName": {"ConnectionString": f"AccountName=x@127.0.0.1:{port}#;AccountKey={KEY}"},
        "BaseLocation": {"BaseLocation": f"http://127.0.0.1:{port}/acct/", "SasBlobToken": "?sv=1&sig=x"},
    }


def test_no_job_can_make_the_worker_connect_to_a_loopback_port(
    client, service, azurite, container, listener, quick_storage
):
    good_input = ref(azurite, upload(container, "in.csv", "Col2\nx\n"))
    for how, target in targets(listener.port).items():
        as_input = {"Input": {**target, "RelativeLocation": "/c/in.csv"}}
        as_output = {"Input": good_input, "Outputs": {"output1": {**target, "RelativeLocation": "/c/out.csv"}}}
        for body in (as_input, as_output):
            details = failed_details(client, service, call(client, service, "post", body=body).json())
            assert "could not be reached" in details, (how, details)
            assert listener.connections == 0, f"the worker connected to the listener through {how}"


def test_an_allowed_endpoint_that_redirects_is_not_followed(client, service, settings, quick_storage):
    elsewhere = Listener()
    redirecting = Listener(
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{elsewhere.port}/acct/c/in.csv\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    try:
        # Both are allowed: the redirect is still not followed.
        settings.MLSERVICE_STORAGE_ALLOWED_HOSTS = [f"127.0.0.1:{redirecting.port}", f"127.0.0.1:{elsewhere.port}"]
        target = targets(redirecting.port)["BlobEndpoint"]
        body = {"Input": {**target, "RelativeLocation": "/c/in.csv"}}
        details = failed_details(client, service, call(client, service, "post", body=body).json())
        assert redirecting.connections >= 1
        assert elsewhere.connections == 0
        assert "307" in details
    finally:
        redirecting.close()
        elsewhere.close()


def test_refused_and_unreachable_endpoints_fail_with_one_message(client, service, settings, listener, quick_storage):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    # The closed port and an unresolvable name are allowed; the listener is not.
    settings.MLSERVICE_STORAGE_ALLOWED_HOSTS = [f"127.0.0.1:{closed_port}", "nosuch.invalid"]
    seen = set()
    for url in (
        f"http://127.0.0.1:{listener.port}/acct",
        f"http://127.0.0.1:{closed_port}/acct",
        "http://nosuch.invalid/acct",
        "http://10.255.255.1:10000/acct",
        "http://169.254.169.254/acct",
    ):
        connection_string = f"AccountName=acct;AccountKey={KEY};BlobEndpoint={url};"
        body = {"Input": {"ConnectionString": connection_string, "RelativeLocation": "/c/in.csv"}}
        details = failed_details(client, service, call(client, service, "post", body=body).json())
        seen.add(details.replace(url + "/", "URL"))
    assert len(seen) == 1, seen
    assert listener.connections == 0


def test_a_wildcard_entry_never_reaches_a_non_public_address(listener):
    # "*.0.0.1" matches the name 127.0.0.1, which resolves to loopback: refused.
    allowed = egress.AllowList(["*.0.0.1"])
    assert allowed.permits_host("127.0.0.1", listener.port)
    assert egress.addresses_for(allowed, "127.0.0.1", listener.port) == []
    # Named exactly, the same address is allowed (as the local Azurite is).
    exact = egress.AllowList([f"127.0.0.1:{listener.port}"])
    assert [info[4][0] for info in egress.addresses_for(exact, "127.0.0.1", listener.port)] == ["127.0.0.1"]


@pytest.mark.parametrize(
    "entry, host, port, allowed",
    [
        ("127.0.0.1:10000", "127.0.0.1", 10000, True),
        ("127.0.0.1:10000", "127.0.0.1", 10001, False),
        ("*.blob.core.windows.net", "acct.blob.core.windows.net", 443, True),
        ("*.blob.core.windows.net", "ACCT.Blob.Core.Windows.Net.", 443, True),
        ("*.blob.core.windows.net", "blob.core.windows.net", 443, False),
        ("*.blob.core.windows.net", "evilblob.core.windows.net", 443, False),
        ("*.blob.core.windows.net", "acct.blob.core.windows.net.evil.example", 443, False),
        ("azurite", "azurite", 80, True),
        ("[::1]:10000", "::1", 10000, True),
    ],
)
def test_allow_list_entries(entry, host, port, allowed):
    assert egress.AllowList([entry]).permits_host(host, port) is allowed


@pytest.mark.parametrize(
    "address, expected",
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("20.60.1.1", True),
    ],
)
def test_only_global_addresses_are_public(address, expected):
    assert egress.public(address) is expected


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_allowed_endpoint_is_connected_to_over_either_scheme(client, service, settings, listener, scheme):
    settings.MLSERVICE_STORAGE_TIMEOUT = 2
    settings.MLSERVICE_STORAGE_RETRIES = 0
    settings.MLSERVICE_STORAGE_ALLOWED_HOSTS = [f"127.0.0.1:{listener.port}"]
    connection_string = f"AccountName=acct;AccountKey={KEY};BlobEndpoint={scheme}://127.0.0.1:{listener.port}/acct;"
    body = {"Input": {"ConnectionString": connection_string, "RelativeLocation": "/c/in.csv"}}
    failed_details(client, service, call(client, service, "post", body=body).json())
    # The listener speaks neither HTTP nor TLS, but the worker did connect to it.
    assert listener.connections >= 1
