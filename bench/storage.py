"""S3 client throughput, boto3 vs obstore, against a real SeaweedFS server, side by side.

    python -m bench.storage [--objects 400] [--size 12000] [--threads 1,8] [--runs 3]
                            [--local-only]

Starts `weed mini` on loopback (tests/s3_fixtures.py), then for each thread count PUTs and GETs
the same objects (random bytes of a PNG's size) through each library's synchronous API on a
thread pool, alternating the libraries run by run, and prints objects/s (median over runs) and
the ratio obstore / boto3. Both clients sign every request (SigV4) and keep connections alive.
Then the local backend's durable batch write (objects/local.py put_many, batches of 32, in its
"fsync" and "syncfs" modes) beside the writer it replaced (`write_atomically` below, the old
worker/storage.py: an fsync per file on eight threads, no folder fsync, so less durable), on this machine's disk (BENCH_DIR: another folder):
files/s and the process's CPU time per file, each with its ratio to today's writer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from objects.local import SYNC_MODES, LocalStorage
from tests.s3_fixtures import SeaweedS3


def write_atomically(target: Path, data: bytes) -> None:
    """The worker's PNG writer before object storage: temp file, fsync, rename; no folder fsync."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def boto3_ops(server: SeaweedS3, threads: int) -> tuple[Callable, Callable]:
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(max_pool_connections=max(10, threads)))

    def put(key: str, data: bytes) -> None:
        client.put_object(Bucket=server.bucket, Key=key, Body=data)

    def get(key: str) -> bytes:
        return client.get_object(Bucket=server.bucket, Key=key)["Body"].read()

    return put, get


def obstore_ops(server: SeaweedS3, threads: int) -> tuple[Callable, Callable]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(server.bucket, endpoint=server.endpoint, region=server.region,
                    access_key_id=server.access_key, secret_access_key=server.secret_key,
                    client_options={"allow_http": True})

    def put(key: str, data: bytes) -> None:
        obstore.put(store, key, data)

    def get(key: str) -> bytes:
        return bytes(obstore.get(store, key).bytes())

    return put, get


LIBRARIES = {"boto3": boto3_ops, "obstore": obstore_ops}


def timed_rate(pool: ThreadPoolExecutor, fn: Callable, args: list[tuple]) -> float:
    """Objects per second for calling fn on every args tuple across the pool."""
    start = time.perf_counter()
    list(pool.map(lambda a: fn(*a), args))
    return len(args) / (time.perf_counter() - start)


def measure_s3(server: SeaweedS3, objects: int, size: int, threads: int, runs: int) -> dict:
    rates: dict[tuple[str, str], list[float]] = {}
    with ThreadPoolExecutor(threads) as pool:
        ops = {name: make(server, threads) for name, make in LIBRARIES.items()}
        for run in range(runs):
            order = list(ops) if run % 2 == 0 else list(reversed(ops))
            for name in order:
                put, get = ops[name]
                keys = [f"bench/{name}/{threads}/{run}/{i:05d}.png" for i in range(objects)]
                blobs = [(key, os.urandom(size)) for key in keys]
                rates.setdefault((name, "PUT"), []).append(timed_rate(pool, put, blobs))
                rates.setdefault((name, "GET"), []).append(
                    timed_rate(pool, get, [(key,) for key in keys]))
    return {key: statistics.median(values) for key, values in rates.items()}


def measure_local(objects: int, size: int, runs: int) -> dict[str, tuple[float, float]]:
    """(files/s, CPU µs per file) for each way of writing, one batch of 32 after another, the
    ways alternated run by run; medians over runs."""
    rates: dict[str, list[tuple[float, float]]] = {}
    with ThreadPoolExecutor(8) as pool:
        for run in range(runs):
            with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
                today = Path(tmp) / "today"

                def fsync_each(batch: dict[str, bytes]) -> None:
                    list(pool.map(lambda key: write_atomically(today / key, batch[key]), batch))

                writers = {mode: LocalStorage(Path(tmp) / mode, sync=mode).put_many
                           for mode in SYNC_MODES}
                writers["today"] = fsync_each
                for name in (list(writers) if run % 2 == 0 else list(reversed(writers))):
                    rates.setdefault(name, []).append(
                        files_per_second(writers[name], objects, size, run))
    return {name: tuple(statistics.median(column) for column in zip(*values))
            for name, values in rates.items()}


def files_per_second(write_batch: Callable, objects: int, size: int,
                     run: int) -> tuple[float, float]:
    """(files/s, CPU µs of this process, all threads, per file) for writing `objects` files."""
    blobs = [(f"{i % 256:02x}/{run}-{i:05d}.png", os.urandom(size)) for i in range(objects)]
    batches = [dict(blobs[i:i + 32]) for i in range(0, objects, 32)]
    start, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        write_batch(batch)
    cpu_us = (time.process_time() - cpu) / objects * 1e6
    return objects / (time.perf_counter() - start), cpu_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--size", type=int, default=12_000, help="bytes per object")
    parser.add_argument("--threads", default="1,8", help="comma-separated thread counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--local-only", action="store_true", help="skip the S3 clients")
    args = parser.parse_args()
    if not args.local_only:
        print_s3(args)
    print_local(args)


def print_s3(args: argparse.Namespace) -> None:
    print(f"{args.objects} objects of {args.size} B, median of {args.runs} runs (objects/s)")
    print(f"{'threads':>7} {'op':>4} {'boto3':>9} {'obstore':>9} {'obstore/boto3':>14}")
    with SeaweedS3() as server:
        for threads in (int(t) for t in args.threads.split(",")):
            rates = measure_s3(server, args.objects, args.size, threads, args.runs)
            for op in ("PUT", "GET"):
                b, o = rates[("boto3", op)], rates[("obstore", op)]
                print(f"{threads:>7} {op:>4} {b:>9.0f} {o:>9.0f} {o / b:>13.2f}x")


def print_local(args: argparse.Namespace) -> None:
    local = measure_local(args.objects, args.size, args.runs)
    (today, today_cpu) = local["today"]
    print(f"local disk, batches of 32, {args.objects} files of {args.size} B, "
          f"median of {args.runs} runs")
    print(f"{'writer':>16} {'files/s':>8} {'vs today':>9} {'CPU us/file':>12} {'vs today':>9}")
    for name, (rate, cpu) in local.items():
        label = name if name == "today" else f"put_many {name}"
        print(f"{label:>16} {rate:>8.0f} {rate / today:>8.2f}x "
              f"{cpu:>12.0f} {cpu / today_cpu:>8.2f}x")

if __name__ == "__main__":
    main()
