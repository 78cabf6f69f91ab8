"""Throughput and latency of the clinic's HTTP service, side by side with `mlflow models serve` of the champion.

    make demo   # once: simulates work/demo/data and trains the champions into work/mlflow.db
    .venv/bin/python bench/bench_serve.py [--data work/demo/data] [--as-of YEAR] [--clients 8] [--requests 150]
                                          [--workers 1] [--rounds 2] [--pairs]

Uses the MLflow store that MLFLOW_TRACKING_URI (or KLINIK_WORK_DIR's default) names, as `klinik serve` does.
Both servers run on 127.0.0.1 with the same number of workers (ours predicts with one LightGBM thread per worker;
MLflow's with the threads the champion was trained with, printed: 1 for the demo's), each answering ``--clients``
concurrent clients that send ``--requests`` requests each (bounded loops), after the same warm-up. The requests
are sent in ``--rounds`` rounds that alternate between the servers, so that other jobs on a shared machine slow
both alike:

- ours: POST /score with ONE cooperative's raw records per request (validation, features, both models,
  TreeSHAP reasons, the policy), exactly what a clinic officer's tool sends;
- MLflow's: POST /invocations with that cooperative's PRECOMPUTED feature row for the risk model alone (less work).

Prints requests/s, p50 and p99 latency (ms) and errors for each, as a Markdown table, and the throughput
ratio of each round.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    sys.exit(f"server at {url} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def hammer(url: str, bodies: list[bytes], clients: int, per_client: int, headers: dict, *, start: int = 0) -> dict:
    """``clients`` threads, each with its own keep-alive connection, each sending ``per_client`` requests. The
    clients take the bodies in turns (step k of client i: body k * clients + i, from step ``start``), so the
    requests in flight together are for different cooperatives, as when several officers use the service."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        with httpx.Client(headers={"Content-Type": "application/json", **headers}, timeout=60) as http:
            start_line.wait()
            for k in range(per_client):
                body = bodies[((start + k) * clients + i) % len(bodies)]
                t0 = time.perf_counter()
                try:
                    ok = http.post(url, content=body).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[i].append(time.perf_counter() - t0)
                errors[i] += not ok

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start_line.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.concatenate([np.asarray(x) for x in latencies]) * 1000
    return {"latencies": lat, "wall": wall, "rps": lat.size / wall, "errors": int(sum(errors))}


def combined(parts: list[dict]) -> dict:
    """Several hammer runs as one: requests over the summed wall time, percentiles over every latency."""
    lat = np.concatenate([p["latencies"] for p in parts])
    wall = sum(p["wall"] for p in parts)
    return {
        "requests": int(lat.size),
        "rps": lat.size / wall,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "errors": int(sum(p["errors"] for p in parts)),
    }


def json_cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset folder (default: the demo's, work/demo/data)")
    parser.add_argument("--as-of", type=int, default=None, help="fiscal year to score (default: the latest)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=150, help="requests per client")
    parser.add_argument("--warmup", type=int, default=10, help="requests per client before measuring")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (both servers)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds the requests are split into")
    parser.add_argument(
        "--pairs", action="store_true", help="clients 2m and 2m+1 ask about the same cooperative at the same time"
    )
    args = parser.parse_args()

    from klinik.data.loader import load_dataset
    from klinik.features.build import build_features
    from klinik.models.persist import load_model
    from klinik.serving.scoring import registered_coops
    from klinik.serving.service_io import payload_from_dataset
    from klinik.settings import get_settings

    settings = get_settings()
    ds = load_dataset(args.data or settings.work_dir / "demo" / "data")
    as_of = args.as_of or ds.last_year
    ids = list(registered_coops(ds, as_of)["coop_id"].astype(str))
    ours = [json.dumps({"cooperatives": [c], "as_of_year": as_of}).encode() for c in payload_from_dataset(ds, ids)]

    uri = settings.mlflow_uri
    risk_uri = f"models:/{settings.risk_model_name}@champion"
    champion = load_model(risk_uri, tracking_uri=uri)  # as logged: the LightGBM threads MLflow will predict with
    columns = list(champion.feature_names_in_)
    mlflow_threads = getattr(champion[-1], "n_jobs", None)
    feats = build_features(ds, settings, years=[as_of])
    feats = feats.loc[feats["year"] == as_of].set_index("coop_id").loc[ids, columns]
    theirs = [
        json.dumps({"dataframe_split": {"columns": columns, "data": [[json_cell(v) for v in row]]}}).encode()
        for row in feats.itertuples(index=False)
    ]

    if args.pairs:  # with the clients taking bodies in turns, neighbours then send the same cooperative together
        ours, theirs = [b for b in ours for _ in (0, 1)], [b for b in theirs for _ in (0, 1)]

    # mlflow models serve starts `uvicorn` by name: the virtualenv's bin must be on PATH
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "BENTOML_DO_NOT_TRACK": "True",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    api_key = env.get("KLINIK_API_KEY") or settings.api_key
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    servers = {
        "klinik serve (BentoML), /score, raw records": (
            [str(BIN / "klinik"), "serve", "--host", "127.0.0.1", "--port", "{port}", "--workers", str(args.workers)],
            "/readyz",
            "/score",
            ours,
            headers,
        ),
        "mlflow models serve, /invocations, precomputed features (risk only)": (
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                risk_uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                "{port}",
                "-w",
                str(args.workers),
            ],
            "/ping",
            "/invocations",
            theirs,
            {},
        ),
    }
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        targets = {}
        for k, (name, (cmd, ready, route, bodies, hdrs)) in enumerate(servers.items()):
            port = free_port()
            log = Path(tmp) / f"{k}.log"
            with open(log, "wb") as handle:
                proc = subprocess.Popen(
                    [c.format(port=port) for c in cmd], env=env, stdout=handle, stderr=subprocess.STDOUT
                )
            stack.callback(stop, proc)
            base = f"http://127.0.0.1:{port}"
            wait_until(base + ready, proc, log)
            probe = httpx.post(
                base + route, content=bodies[0], timeout=60, headers={"Content-Type": "application/json", **hdrs}
            )
            if probe.status_code != 200:
                sys.exit(f"{name}: {probe.status_code} {probe.text[:500]}")
            hammer(base + route, bodies, args.clients, args.warmup, hdrs)
            targets[name] = (base + route, bodies, hdrs)
        # Both servers are up (an idle one costs nothing); rounds alternate between them, so load from other
        # jobs on the machine falls on both alike. Every client sends --requests requests to each server.
        # Across the rounds each client sends the same bodies, in the same order, as in one run of --requests.
        parts = [part for part in np.array_split(np.arange(args.requests), args.rounds) if len(part)]
        for r, part in enumerate(parts):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for name in order:
                url, bodies, hdrs = targets[name]
                runs[name].append(hammer(url, bodies, args.clients, len(part), hdrs, start=int(part[0])))

    results = {name: combined(parts) for name, parts in runs.items()}
    print(
        f"\n{args.clients} concurrent clients x {args.requests} requests, one cooperative per request, "
        f"{args.workers} worker(s) each, {os.cpu_count()} cores, as_of_year {as_of}, {len(ids)} cooperatives, "
        f"{len(parts)} alternating rounds{', pairs of clients on one cooperative' if args.pairs else ''}; "
        f"LightGBM threads: ours 1 per worker, MLflow's {mlflow_threads}\n"
    )
    print("| server | requests | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |")
    a, b = results.values()
    per_round = [x["rps"] / y["rps"] for x, y in zip(*runs.values())]
    print(
        f"\nthroughput ratio (ours / MLflow): {a['rps'] / b['rps']:.2f}x (rounds: "
        f"{', '.join(f'{q:.2f}' for q in per_round)}); p99 ours {a['p99']:.1f} ms vs MLflow {b['p99']:.1f} ms"
    )


if __name__ == "__main__":
    main()
