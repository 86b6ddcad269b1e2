"""Start a local Azurite blob service (the npm package pinned in package.json).

Used by the tests and the benchmarks, which must not collide with each other
or with `make run`: they ask for port 0 and read the port Azurite got.
`make run` starts Azurite from the Procfile instead, on AZURITE_BLOB_PORT.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BINARY = BASE_DIR / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LISTENING = re.compile(r"listens on https?://[^:\s]+:(\d+)")


def connection_string(host: str, port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


@dataclass
class Azurite:
    process: subprocess.Popen
    host: str
    port: int

    @property
    def connection_string(self) -> str:
        return connection_string(self.host, self.port)

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(location: Path, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> Azurite:
    if not BINARY.exists():
        raise FileNotFoundError(f"{BINARY} is missing: run `npm ci` (make run/make test do).")
    process = subprocess.Popen(
        [
            str(BINARY),
            "--blobHost",
            host,
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: dict = {}
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = LISTENING.search(line)
            if match and "port" not in found:
                found["port"] = int(match.group(1))
                ready.set()
        ready.set()

    ready = threading.Event()
    # The reader keeps draining Azurite's output so its pipe never fills up.
    threading.Thread(target=read, daemon=True).start()
    ready.wait(timeout)
    if "port" not in found:
        process.kill()
        raise RuntimeError("Azurite did not start: " + "".join(lines[-20:]))
    return Azurite(process, host, found["port"])
