"""Throughput and latency of the clinic's HTTP service, side by side with `mlflow models serve` of the champion.

    make demo   # once: simulates work/demo/data and trains the champions into work/mlflow.db
    .venv/bin/python bench/bench_serve.py [--data work/demo/data] [--as-of YEAR] [--clients 8] [--requests 150]
                                          [--workers 1]

Uses the MLflow store that MLFLOW_TRACKING_URI (or KLINIK_WORK_DIR's default) names, as `klinik serve` does. Both servers run one after the other on 127.0.0.1 with the same number of
workers, each answering ``--clients`` concurrent clients that send ``--requests`` requests each (bounded loops):

- ours: POST /score with ONE cooperative's raw records per request (validation, features, both models,
  TreeSHAP reasons, the policy), exactly what a clinic officer's tool sends;
- MLflow's: POST /invocations with that cooperative's PRECOMPUTED feature row for the risk model alone (less work).

Prints requests/s, p50 and p99 latency (ms) and errors for each, as a Markdown table.
"""

from __future__ import annotations

import argparse
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


def hammer(url: str, bodies: list[bytes], clients: int, per_client: int, headers: dict) -> dict:
    """``clients`` threads, each with its own keep-alive connection, each sending ``per_client`` requests."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        with httpx.Client(headers={"Content-Type": "application/json", **headers}, timeout=60) as http:
            start_line.wait()
            for k in range(per_client):
                body = bodies[(i * per_client + k) % len(bodies)]
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
    return {"requests": int(lat.size), "rps": lat.size / wall, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "errors": int(sum(errors))}


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
    args = parser.parse_args()

    from data.loader import load_dataset
    from features.build import build_features
    from klinik.settings import get_settings
    from models.persist import load_model
    from serving.scoring import registered_coops
    from serving.service_io import payload_from_dataset

    settings = get_settings()
    ds = load_dataset(args.data or settings.work_dir / "demo" / "data")
    as_of = args.as_of or ds.last_year
    ids = list(registered_coops(ds, as_of)["coop_id"].astype(str))
    ours = [json.dumps({"cooperatives": [c], "as_of_year": as_of}).encode()
            for c in payload_from_dataset(ds, ids)]

    uri = settings.mlflow_uri
    risk_uri = f"models:/{settings.risk_model_name}@champion"
    columns = list(load_model(risk_uri, tracking_uri=uri).feature_names_in_)
    feats = build_features(ds, settings, years=[as_of])
    feats = feats.loc[feats["year"] == as_of].set_index("coop_id").loc[ids, columns]
    theirs = [json.dumps({"dataframe_split": {"columns": columns, "data": [[json_cell(v) for v in row]]}}).encode()
              for row in feats.itertuples(index=False)]

    # mlflow models serve starts `uvicorn` by name: the virtualenv's bin must be on PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "BENTOML_DO_NOT_TRACK": "True",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    api_key = env.get("KLINIK_API_KEY") or settings.api_key
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            "klinik serve (BentoML), /score, raw records": (
                [str(BIN / "klinik"), "serve", "--host", "127.0.0.1", "--port", "{port}", "--workers",
                 str(args.workers)], "/readyz", "/score", ours, headers),
            "mlflow models serve, /invocations, precomputed features (risk only)": (
                [str(BIN / "mlflow"), "models", "serve", "-m", risk_uri, "--env-manager", "local", "-h",
                 "127.0.0.1", "-p", "{port}", "-w", str(args.workers)], "/ping", "/invocations", theirs, {}),
        }
        for name, (cmd, ready, route, bodies, hdrs) in servers.items():
            port = free_port()
            log = Path(tmp) / f"{len(results)}.log"
            with open(log, "wb") as handle:
                proc = subprocess.Popen([c.format(port=port) for c in cmd], env=env, stdout=handle,
                                        stderr=subprocess.STDOUT)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_until(base + ready, proc, log)
                probe = httpx.post(base + route, content=bodies[0], timeout=60,
                                   headers={"Content-Type": "application/json", **hdrs})
                if probe.status_code != 200:
                    sys.exit(f"{name}: {probe.status_code} {probe.text[:500]}")
                hammer(base + route, bodies, args.clients, args.warmup, hdrs)
                results[name] = hammer(base + route, bodies, args.clients, args.requests, hdrs)
            finally:
                stop(proc)

    print(f"\n{args.clients} concurrent clients x {args.requests} requests, one cooperative per request, "
          f"{args.workers} worker(s) each, {os.cpu_count()} cores, as_of_year {as_of}, {len(ids)} cooperatives\n")
    print("| server | requests | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |")
    a, b = results.values()
    print(f"\nthroughput ratio (ours / MLflow): {a['rps'] / b['rps']:.2f}x; "
          f"p99 ours {a['p99']:.1f} ms vs MLflow {b['p99']:.1f} ms")


if __name__ == "__main__":
    main()
