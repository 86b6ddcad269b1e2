"""Production server for Portico: `python -m portal.serve`.

uvicorn (uvloop, httptools) serving portal.asgi: gateway calls on the event
loop, portal pages through Django's ASGI handler, in one process per core.
Why uvicorn rather than granian: in bench/gateway.py (--granian) both served
the same rps and CPU per call within the noise of repeated runs, so the
tie went to the server whose behaviour the tests pin down (a stream that
raises aborts the connection; SIGTERM runs the lifespan shutdown, which
writes the queued call records). Figures: README.md, Benchmarks.
Environment: HOST, PORT, WEB_CONCURRENCY (processes), GATEWAY_ONLY=1 for a
gateway-only node; ASGI_THREADS sizes Django's thread pool for sync views.
"""

from __future__ import annotations

import multiprocessing
import os

import uvicorn


def main() -> None:
    redis = bool(os.getenv("REDIS_URL"))
    # Without Redis the rate-limit and quota counters (and key generations)
    # live in each process's memory, so there is one process unless told otherwise.
    workers = int(os.getenv("WEB_CONCURRENCY") or (multiprocessing.cpu_count() if redis else 1))
    if workers > 1 and not redis:
        print(f"{workers} workers without REDIS_URL: each keeps its own counters, so limits are not exact.")
    uvicorn.run(
        "portal.asgi:application",
        host=os.getenv("HOST", "127.0.0.1"),
        port=int(os.getenv("PORT", "8000")),
        workers=workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # The access log would show query strings (keys).
        access_log=False,
        # Longer than nothing, shorter than a deploy's patience: calls in
        # flight finish and queued call records are written before exit.
        timeout_graceful_shutdown=int(os.getenv("GRACEFUL_TIMEOUT", "30")),
        timeout_keep_alive=int(os.getenv("KEEPALIVE", "5")),
        forwarded_allow_ips=os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        proxy_headers=False,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
