"""``klinik serve``: bring the champions into the BentoML store, check they load, then start the HTTP service.

Everything that can stop the service from starting is checked here, before any worker is spawned, so the
answer is one clear line and a non-zero exit (no champion, store unreachable, a model that will not load,
the port taken) instead of workers that die and respawn.
"""

from __future__ import annotations

import os
import sys

EXIT_CANNOT_START = 1


def _fail(message: str) -> int:
    print(f"klinik serve: cannot start: {message}", file=sys.stderr)
    return EXIT_CANNOT_START


def _prepare_environment(settings) -> None:
    """Settings that must reach BentoML and the worker processes (they inherit this environment)."""
    if settings.bentoml_home is not None or "BENTOML_HOME" not in os.environ:
        os.environ["BENTOML_HOME"] = str(settings.bento_home)
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")  # no usage statistics leave the office
    # one thread per worker: LightGBM is set to one thread after loading, and so are numpy's and OpenMP's pools
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # an unreachable HTTP tracking server should fail fast, not after minutes of retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in a server's log


def run_serve(host: str, port: int, workers: int) -> int:
    """Start the service on host:port with ``workers`` processes (one LightGBM thread each); blocks until stopped."""
    from klinik.settings import get_settings

    settings = get_settings()
    _prepare_environment(settings)
    cores = os.cpu_count() or 1
    if workers > cores:
        print(
            f"klinik serve: {workers} workers on {cores} cores will compete for them; "
            f"--workers {cores} or fewer serves faster",
            file=sys.stderr,
        )

    from klinik.serving.bento_store import CannotServe, import_champions, loaded_models

    try:
        champions = import_champions(settings)
        loaded_models(champions["risk"], champions["recovery"])  # a model that will not load fails here, once
    except CannotServe as err:
        return _fail(str(err))
    except Exception as err:  # noqa: BLE001 -- one line for the officer; the model engineer reads the detail
        return _fail(f"the champion models do not load: {type(err).__name__}: {str(err).splitlines()[0][:300]}")

    from klinik.serving.service import Klinik

    Klinik.config["workers"] = workers
    print(
        f"klinik serve: {champions['risk'].tag} and {champions['recovery'].tag} on http://{host}:{port} "
        f"({workers} worker(s))",
        file=sys.stderr,
    )
    try:
        Klinik.serve_http(host=host, port=port)
    except OSError as err:
        return _fail(f"{host}:{port}: {err.strerror or err}")
    except KeyboardInterrupt:
        pass
    return 0
