"""A BES job over a 1,000,000-row CSV (about 100 MB) on a real Azurite: wall time and worker peak memory.

    .venv/bin/python bench/bes.py [--rows 1000000] [--bits 3]

Starts its own Azurite on a free port and uses its own SQLite database in a
temporary folder, so it runs beside `make run` and the tests. The job is
submitted through the HTTP API (Django's test client), run by a real
`manage.py mlworker --burst` process, whose wall time and peak RSS are
measured (VmHWM, sampled), and its output is downloaded and checked.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_csv(path: Path, rows: int, seed: int = 11) -> int:
    """Write the input CSV to a file (the bench process itself stays small); its size in bytes."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(5000)
    ]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Col2\n")
        batch = []
        for n in range(rows):
            text = " ".join(rng.choices(vocabulary, k=rng.randint(12, 22)))
            batch.append(f'"{text}, really"' if rng.random() < 0.1 else text)
            if len(batch) == 10_000 or n == rows - 1:
                f.write("\n".join(batch) + "\n")
                batch = []
    return path.stat().st_size


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident memory of the process since its exec (not its parent's pages before it)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-bes-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["PORTAL_VAR_DIR"] = str(tmp)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["MLSERVICE_DEMO_INPUT"] = "0"  # leave any `make run` Azurite alone
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from azure.storage.blob import BlobServiceClient
    from django.core.management import call_command
    from django.test import Client

    from mlservice import azurite
    from mlservice.models import BatchJob, WebService

    call_command("migrate", verbosity=0)
    server = azurite.start(tmp / "azurite")
    try:
        source = tmp / "input.csv"
        size = make_csv(source, args.rows)
        print(f"input: {args.rows:,} rows, {size / 1e6:.1f} MB; bitsize {args.bits}, N-grams 2")
        blobs = BlobServiceClient.from_connection_string(server.connection_string)
        container = blobs.create_container("bench")
        t = time.perf_counter()
        with source.open("rb") as f:
            container.upload_blob("input.csv", f, length=size, max_concurrency=4, overwrite=True)
        print(f"upload: {time.perf_counter() - t:.1f} s")

        service = WebService.objects.create(name="bench", bits=args.bits, ngrams=2)
        client = Client()
        headers = {"Authorization": f"Bearer {service.primary_key}"}
        base = f"/ml{service.base_path}/jobs"
        ref = {"ConnectionString": server.connection_string}
        body = {
            "Input": {**ref, "RelativeLocation": "/bench/input.csv"},
            "Outputs": {"output1": {**ref, "RelativeLocation": "/bench/output.csv"}},
            "GlobalParameters": {},
        }
        job_id = client.post(
            f"{base}?api-version=2.0", json.dumps(body), content_type="application/json", headers=headers
        ).json()
        assert client.post(f"{base}/{job_id}/start?api-version=2.0", headers=headers).status_code == 200

        # This Azurite's random port is the only storage the worker may use.
        os.environ["MLSERVICE_STORAGE_ALLOWED_HOSTS"] = f"{server.host}:{server.port}"
        t = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "mlworker", "--burst"], env=os.environ.copy()
        )
        # Sample VmHWM (monotonic) until the worker exits; ru_maxrss would
        # also count the bench process's pages the child had before its exec.
        peak = 0.0
        while True:
            peak = max(peak, peak_rss_mb(worker.pid))
            pid, _, usage = os.wait4(worker.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t
        cpu = usage.ru_utime + usage.ru_stime
        job = BatchJob.objects.get(job_id=job_id)
        print(f"job: {job.state} {job.details or ''}".strip())
        print(f"worker wall time: {wall:.1f} s ({job.rows / wall:,.0f} rows/s), peak RSS: {peak:.0f} MB")
        # CPU time does not depend on how busy the machine is; wall time does.
        print(
            f"worker CPU time: {cpu:.1f} s ({job.rows / cpu:,.0f} rows per CPU second); load average {os.getloadavg()[0]:.1f}"
        )

        output = container.get_blob_client("output.csv").download_blob()
        lines = 0
        first = b""
        for chunk in output.chunks():
            if not first:
                first = chunk[:300]
            lines += chunk.count(b"\n")
        print(f"output: {output.size / 1e6:.1f} MB, {lines - 1:,} rows")
        print("first lines:", first.decode(errors="replace").splitlines()[:2])
        assert job.state == "Finished" and lines - 1 == args.rows
    finally:
        server.stop()


if __name__ == "__main__":
    main()
