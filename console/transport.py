"""Send console requests to the gateway in-process, through Django's own handler.

Why: the console runs inside a portal request and calls the gateway, which is
served by the same portal. Over HTTP, each Send holds a server thread while it
waits for a second one to run the gateway; with N threads, N simultaneous
Sends wait forever on each other (and with one sync worker, a single Send
does). Dispatching the gateway URL through a WSGI handler in the calling
thread needs no second thread, so it cannot deadlock or starve whatever the
server's configuration, and it still runs the real gateway code path: URL
resolution, every middleware, the gateway view with its key check, limits and
call record, and the streaming response exactly as a client receives it.

The adapter plugs into requests as a transport, so the console's code is the
same whether the gateway is reached in-process or over the network
(CONSOLE_TRANSPORT=http, e.g. when GATEWAY_URL points to separate hosts).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.urls import set_script_prefix
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from gateway import httputil


class _Handler(BaseHandler):
    """Django's WSGI handler minus the request_started/request_finished signals.

    Those signals close the thread's database connections, which belong to the
    outer (console) request that is still running.
    """

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware()

    def __call__(self, environ: dict):
        set_script_prefix("/")
        request = WSGIRequest(environ)
        return self.get_response(request)


class _IterStream(io.RawIOBase):
    """A file-like view of a WSGI body iterator, read lazily (streamed responses stay streamed)."""

    def __init__(self, chunks: Iterable[bytes], on_close):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = bytes(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._on_close()
            finally:
                super().close()


class InProcessAdapter(BaseAdapter):
    """A requests transport adapter that runs the request through this Django project."""

    _handler: _Handler | None = None

    def __init__(self, remote_addr: str = "127.0.0.1", deadline: float | None = None):
        super().__init__()
        self.remote_addr = remote_addr
        # When the console stops waiting (time.perf_counter()): the gateway
        # gives the backend no longer, so no send thread is held past it.
        self.deadline = deadline

    @classmethod
    def handler(cls) -> _Handler:
        if cls._handler is None:
            cls._handler = _Handler()
        return cls._handler

    def send(self, request: requests.PreparedRequest, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            # WSGI carries the decoded path as latin-1; RAW_URI keeps it as sent, as gunicorn does.
            "PATH_INFO": unquote_to_bytes(parts.path).decode("latin-1"),
            "RAW_URI": parts.path + ("?" + parts.query if parts.query else ""),
            "REQUEST_URI": parts.path + ("?" + parts.query if parts.query else ""),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "localhost",
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "HTTP_HOST": parts.netloc,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
        }
        if self.deadline is not None:
            environ[httputil.CALLER_DEADLINE] = self.deadline
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key == "CONTENT_LENGTH":
                continue
            else:
                environ[f"HTTP_{key}"] = value
        response = self.handler()(environ)
        headers = list(response.items())
        for cookie in response.cookies.values():
            headers.append(("Set-Cookie", cookie.output(header="")))
        chunks = response if response.streaming else [response.content]

        def close() -> None:
            # HttpResponse.close() would send request_finished; close its resources only.
            for closer in getattr(response, "_resource_closers", []):
                try:
                    closer()
                except Exception:  # pragma: no cover - a closer failing must not hide the response
                    pass

        raw = HTTPResponse(
            body=io.BufferedReader(_IterStream(chunks, close), 64 * 1024),
            headers=headers,
            status=response.status_code,
            reason=response.reason_phrase,
            preload_content=False,
            decode_content=False,
            request_url=request.url,
        )
        result = requests.Response()
        result.status_code = response.status_code
        result.headers = CaseInsensitiveDict(raw.headers)
        result.raw = raw
        result.reason = response.reason_phrase
        result.url = request.url
        result.encoding = requests.utils.get_encoding_from_headers(result.headers)
        result.request = request
        result.connection = self
        if not stream:
            result.content  # noqa: B018 - read it now, as requests does without stream=True
        return result

    def close(self) -> None:
        pass
