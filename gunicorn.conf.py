"""Production server for Portico: `gunicorn -c gunicorn.conf.py portal.wsgi`.

Why gthread with many threads (figures in bench/gateway.py's output and the
issue note): a gateway call mostly waits on its backend, so what matters is how
many calls can wait at once. With N threads per worker, a slow (200 ms) backend
behind 200 concurrent clients is served at the ideal rate; a worker per core
keeps both cores busy for fast backends. Everything is overridable by
environment variables.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.getenv("GUNICORN_BIND", f"{os.getenv('HOST', '127.0.0.1')}:{os.getenv('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.getenv("WEB_CONCURRENCY", str(multiprocessing.cpu_count())))
threads = int(os.getenv("GUNICORN_THREADS", "128"))
# Keep-alive connections each hold a thread while idle; keep that short.
keepalive = int(os.getenv("GUNICORN_KEEPALIVE", "5"))
# Longer than the gateway's read timeout, so a slow backend gets its 504
# rather than the worker being killed.
timeout = int(os.getenv("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
worker_connections = int(os.getenv("GUNICORN_WORKER_CONNECTIONS", "1000"))
# Limits on the request line and headers: oversized ones get a 400 from here.
limit_request_line = 8190
limit_request_field_size = 8190
accesslog = os.getenv("GUNICORN_ACCESSLOG") or None  # the access log would show query strings (keys)
errorlog = "-"
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1")


def worker_exit(server, worker):
    # Write the call records still queued in this worker before it goes.
    try:
        from gateway import records

        records.flush()
    except Exception:  # pragma: no cover - the app may never have loaded
        pass
