"""A real backend on a free loopback port, an API in front of it, and a
developer with an active subscription."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway import keycache, routing


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def handle(self):
        # The gateway hangs up on slow or broken answers on purpose.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_one(self):
        body = self._body()
        path = self.path
        if "/redirect" in path:
            return self._send(302, b"", {"Location": "/elsewhere"})
        if "/status/" in path:  # a backend answering its own error, e.g. /status/401
            code = int(path.rsplit("/status/", 1)[1][:3])
            return self._send(code, b'{"error": "backend says no"}', {"Content-Type": "application/json"})
        if "/cookie" in path:
            # A backend trying to take over the portal's session, beside a cookie of its own.
            self.send_response(200)
            self.send_header("Set-Cookie", "sessionid=attacker; Path=/")
            self.send_header("Set-Cookie", "app=1; Path=/")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")
            return None
        if "/close" in path:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
            self.close_connection = True
            return None
        if "/sleep" in path:
            time.sleep(1.5)
        if "/big" in path:
            chunk = b"x" * 65536
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(chunk) * 16))
            self.end_headers()
            for _ in range(16):
                self.wfile.write(chunk)
            return None
        if "/hop" in path:
            return self._send(
                200,
                b"{}",
                {
                    "Content-Type": "application/json",
                    "Connection": "X-Secret-Hop",
                    "X-Secret-Hop": "1",
                    "Keep-Alive": "timeout=5",
                },
            )
        echo = {
            "method": self.command,
            "path": path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("latin-1"),
        }
        return self._send(200, json.dumps(echo).encode(), {"Content-Type": "application/json", "X-Backend": "echo"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_one


@pytest.fixture(scope="session")
def backend_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _sync_records(settings):
    # Records are written in the request thread, so a test sees them at once;
    # test_records.py covers the background writer.
    settings.GATEWAY_RECORD_ASYNC = False
    # Users are made in every test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    routing.catalog.clear()
    keycache.clear()
    yield
    routing.catalog.clear()
    keycache.clear()


@pytest.fixture
def product(db):
    from apis.models import Product

    return Product.objects.create(
        name="Starter",
        slug="starter-test",
        rate_limit_calls=5,
        rate_limit_period=60,
        quota_calls=100,
        quota_period=7 * 24 * 3600,
    )


@pytest.fixture
def echo_api(db, backend_url, product):
    from apis.models import Api, Operation

    api = Api.objects.create(
        name="Echo", slug="echo", path="echo", service_url=backend_url + "/base", url_schemes="https"
    )
    api.products.add(product)
    for method, template in [
        ("GET", "/items/{id}"),
        ("POST", "/items?api-version={v}"),
        ("GET", "/redirect"),
        ("GET", "/status/{code}"),
        ("GET", "/close"),
        ("GET", "/sleep"),
        ("GET", "/big"),
        ("GET", "/hop"),
        ("GET", "/cookie"),
        ("HEAD", "/items/{id}"),
    ]:
        Operation.objects.create(api=api, method=method, url_template=template, display_name=f"{method} {template}")
    return api


@pytest.fixture
def subscription(alice, product):
    from subscriptions import services

    return services.subscribe(user=alice, product=product, name="Alice's app")


@pytest.fixture
def key(subscription):
    return subscription.primary_key
