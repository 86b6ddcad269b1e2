"""Production server for Portico: `gunicorn -c gunicorn.conf.py portal.wsgi`.

Why gthread with many threads (figures: bench/gateway.py): a gateway call
mostly waits on its backend, so what matters is how many calls can wait at
once, and threads wait cheaply. gevent was not chosen: SQLite and psycopg calls
(the key lookup, the call-record writer) would block a whole worker's hub, and
the records writer is a real thread by design. Everything is overridable by
environment variables (WEB_CONCURRENCY, GUNICORN_THREADS, PORT, HOST).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

bind = os.getenv("GUNICORN_BIND", f"{os.getenv('HOST', '127.0.0.1')}:{os.getenv('PORT', '8000')}")
worker_class = "gthread"
# Two processes per core, 64 threads each: on the 2-core bench machine this
# beat 2x128 and 8x32 for the 200 ms backend (fewer threads fighting over each
# process's GIL, enough of them to keep 200+ calls waiting). Without Redis the
# rate-limit and quota counters live in each process's memory, so there is
# one process unless WEB_CONCURRENCY says otherwise.
workers = int(os.getenv("WEB_CONCURRENCY") or (2 * multiprocessing.cpu_count() if os.getenv("REDIS_URL") else 1))
threads = int(os.getenv("GUNICORN_THREADS", "64"))
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
# The gateway's key lookups and catalog checks share a few database
# connections per worker (gateway/dbpool.py) rather than one per thread:
# workers x threads PostgreSQL connections would pass its max_connections.
os.environ.setdefault("GATEWAY_DB_POOL", "4")
# gunicorn's control socket defaults to one per user ($HOME/.gunicorn/gunicorn.ctl):
# a second portal on the machine took over the first's. Keep it with this
# checkout's other state.
control_socket = str(Path(os.getenv("PORTAL_VAR_DIR") or Path(__file__).resolve().parent / "var") / "gunicorn.ctl")
accesslog = os.getenv("GUNICORN_ACCESSLOG") or None  # the access log would show query strings (keys)
errorlog = "-"
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    if server.cfg.workers > 1 and not os.getenv("REDIS_URL"):
        server.log.warning(
            "%d workers without REDIS_URL: each keeps its own rate-limit and quota counters, "
            "so limits are not exact. Set REDIS_URL.",
            server.cfg.workers,
        )


def worker_exit(server, worker):
    # Write the call records still queued in this worker before it goes.
    try:
        from gateway import records

        records.flush()
    except Exception:  # pragma: no cover - the app may never have loaded
        pass
