"""A real, tiny HTTP server standing in for the gateway, and an API whose operations reach it.

The console is pointed at it over HTTP (CONSOLE_TRANSPORT=http) so that view
tests see exactly what went over the wire: the raw path, the headers, the body.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201"
    "a5f2d2a30000000049454e44ae426082"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.answer()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def send(self, status, body: bytes, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Portico-Request-Id", "req" + str(len(self.server.seen)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body.decode()}
        self.server.seen.append(seen)
        mode = self.path.split("?")[0].split("/")[3] if self.path.count("/") >= 3 else ""
        if mode == "script":
            self.send(200, b"<script>window.pwned = 1</script><b>bold</b>", "text/html; charset=utf-8")
        elif mode == "big":
            size = 5 * 1024 * 1024
            row = b'{"name": "row", "value": 12345.678, "ok": true},'
            data = b"[" + row * (size // len(row)) + b"null]"
            self.send(200, data)
        elif mode == "tenkb":
            self.send(200, json.dumps([{"i": i, "name": "item", "ok": True} for i in range(250)]).encode())
        elif mode == "gzip":
            self.send(200, gzip.compress(b'{"zipped": true}'), headers=[("Content-Encoding", "gzip")])
        elif mode == "image":
            self.send(200, PNG, "image/png", [("Content-Disposition", 'inline; filename="chart.png"')])
        elif mode == "binary":
            self.send(
                200,
                bytes(range(256)) * 4,
                "application/octet-stream",
                [("Content-Disposition", 'attachment; filename="../../data.bin"')],
            )
        elif mode == "xml":
            self.send(200, b'<?xml version="1.0"?><root><item id="1">one</item></root>', "application/xml")
        elif mode == "slow":
            time.sleep(float(self.headers.get("X-Sleep") or 6))
            self.send(200, b"{}")
        elif mode == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
        elif mode == "throttled":
            self.send(
                429,
                b'{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 30 seconds."}',
                headers=[("Retry-After", "30"), ("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "0")],
            )
        else:
            self.send(
                200, json.dumps(seen).encode(), headers=[("X-RateLimit-Limit", "5"), ("X-RateLimit-Remaining", "4")]
            )


@pytest.fixture
def tiny_server():
    """The tiny server on a free port, as a backend behind the real gateway."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def backend(settings, tiny_server):
    """The tiny server in the gateway's place, reached over HTTP."""
    server = tiny_server
    settings.GATEWAY_URL = server.url + "/gw"
    settings.CONSOLE_TRANSPORT = "http"
    settings.CONSOLE_TIMEOUT = 3
    return server


MODES = ["script", "big", "tenkb", "gzip", "image", "binary", "xml", "slow", "endless", "throttled"]


@pytest.fixture
def echo_api(db):
    """An API at /gw/echo whose operations make the tiny server behave one way or another."""
    from apis.models import Api, Operation, Parameter, RequestRepresentation

    api = Api.objects.create(name="Echo API", path="echo", service_url="http://backend.invalid")
    ops = {}
    ops["get"] = Operation.objects.create(
        api=api, method="GET", url_template="/things/{name}?q={q}", display_name="Get thing"
    )
    Parameter.objects.filter(operation=ops["get"], name="q").update(
        required=False, description="A search term", default_value="all"
    )
    Parameter.objects.filter(operation=ops["get"], name="name").update(description="The thing's name")
    ops["post"] = Operation.objects.create(
        api=api, method="POST", url_template="/things/{name}", display_name="Post thing"
    )
    RequestRepresentation.objects.create(operation=ops["post"], content_type="application/json", example='{"a": 1}')
    RequestRepresentation.objects.create(operation=ops["post"], content_type="application/xml", example="<a>1</a>")
    for mode in MODES:
        ops[mode] = Operation.objects.create(api=api, method="GET", url_template=f"/{mode}", display_name=mode.title())
    return ops


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The named users are created for every test; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def stop_send_threads(django_db_setup, django_db_blocker):
    # The console's send threads keep database connections open for reuse;
    # PostgreSQL will not drop the test database while they are.
    yield
    import gc

    from console import send

    with django_db_blocker.unblock():
        send.shutdown()
    gc.collect()


@pytest.fixture
def proxied(settings, tiny_server, echo_api):
    """The echo API behind the real gateway, reached in-process, as `make run` has it;
    the tiny server as its backend."""
    settings.GATEWAY_URL = "http://testserver/gateway"
    settings.CONSOLE_TRANSPORT = "inprocess"
    settings.GATEWAY_RECORD_ASYNC = False
    api = echo_api["get"].api
    api.service_url = f"{tiny_server.url}/x/y"
    api.subscription_required = False
    api.save()
    return echo_api
