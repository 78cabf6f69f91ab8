"""What the service spends on a request that is wrong everywhere, and how large its 400 is.

Usage:
    .venv/bin/python bench/bench_refusals.py                     # 500 cooperatives x 29 fiscal years
    .venv/bin/python bench/bench_refusals.py --coops 200 --years 1996-2024

A simulated world becomes one /score body (as many cooperatives as one request may carry, every year of their
records), broken in every financials row two ways, each timed in this process through the service's own code:

- the contract's rules (cash and loans_loss negative): the request types read it (as BentoML does), then the
  pass that checks and words every problem (serving.batching.score_jobs) and the 400's body (error_body);
- the request types (``true`` in every amount): the request types refuse it, and BentoML's 400 body is built
  from the error they raise.

Reported: the request's size, the seconds of each step, the answer's size and how many problems it counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coops", type=int, default=500)
    parser.add_argument("--years", default="1996-2024")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    first, last = (int(y) for y in args.years.split("-"))

    from pydantic import ValidationError

    from klinik.data.dataset import Dataset
    from klinik.data.simulator import simulate
    from klinik.serving import schemas
    from klinik.serving.batching import Job, score_jobs
    from klinik.serving.service_io import error_body, payload_from_dataset
    from klinik.settings import get_settings

    tables = simulate(n_coops=args.coops, years=(first, last), seed=args.seed)
    ds = Dataset(**{k: v for k, v in tables.items() if k != "truth"}, truth=None, source="bench", warnings=[])
    coops = payload_from_dataset(ds)
    settings = get_settings(max_coops_per_request=max(len(coops), 500))

    def negative(row):
        row["cash"], row["loans_loss"] = -1.0, -2.0

    def booleans(row):
        row.update({k: True for k in row if k != "year"})

    for name, breaks in (("contract rules", negative), ("request types", booleans)):
        broken = json.loads(json.dumps(coops))
        for coop in broken:
            for row in coop["financials"]:
                breaks(row)
        body = json.dumps({"cooperatives": broken, "as_of_year": last}).encode()
        t0 = time.perf_counter()
        try:
            request = schemas.ScoreRequest.model_validate_json(body)
        except ValidationError as err:  # what BentoML answers with
            t1 = time.perf_counter()
            detail = err.errors(include_context=False, include_input=False)
            answer = json.dumps({"error": f"{err.error_count()} validation error", "detail": detail}).encode()
            t2 = time.perf_counter()
            counted = detail[0]["msg"]
        else:
            t1 = time.perf_counter()
            (refusal,) = score_jobs([Job(request.cooperatives, request.as_of_year, "auto")], None, settings)
            answer = json.dumps(error_body(refusal)).encode()
            t2 = time.perf_counter()
            counted = f"{len(refusal.problems)} problems"
        print(
            f"{name}: request {len(body) / 1e6:.1f} MB ({len(broken)} cooperatives, "
            f"{sum(len(c['financials']) for c in broken)} financials rows); read {t1 - t0:.2f} s, "
            f"checked and answered {t2 - t1:.2f} s; answer {len(answer) / 1e3:.1f} kB ({counted})"
        )


if __name__ == "__main__":
    main()
