"""The serving stage's commands: ``klinik score`` (the batch job, serving/batch.py) and ``klinik serve`` (the
HTTP service, serving/service.py).

``klinik serve`` brings the champions into the BentoML store and checks they load before any worker is spawned,
so everything that can stop the service from starting (no champion, store unreachable, a model that will not
load, the port taken) is one clear line and an exit code instead of workers that die and respawn.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from klinik.commands import EXIT_FAILED, EXIT_NO_MODEL, CommandFailed, command


@command("score")
def run_score(
    data_dir: Path,
    as_of: int,
    out: Path,
    model_version: str | None = None,
    quiet: bool = False,
    officer: str | None = None,
) -> int:
    """Score every cooperative of ``data_dir`` as of ``as_of`` into the folder ``out``; say what was done."""
    from klinik.data.messages import Msg, joined
    from klinik.serving.batch import score_batch
    from klinik.serving.manifest import MANIFEST_FILE
    from klinik.settings import get_settings

    manifest = score_batch(data_dir, as_of, out, model_version=model_version, quiet=quiet, officer=officer)
    if not quiet:
        counts, language = manifest["counts"], get_settings().language
        actions = joined(f"{k} {v}" for k, v in counts["by_action"].items())
        version = manifest["models"]["model_version"]
        print(Msg("scored", n=counts["scored"], year=as_of, version=version, actions=actions).say(language))
        files = joined([*(o["file"] for o in manifest["outputs"]), MANIFEST_FILE])
        print(Msg("outputs_in", out=str(out), files=files).say(language))
    for warning in manifest.get("input_drift", {}).get("warnings", []):
        print(f"klinik score: this year's input moved from the training data: {warning}", file=sys.stderr)
    if (manifest.get("performance") or {}).get("retraining_advised"):
        print(f"klinik score: retraining advised: {manifest['performance']['reason']}", file=sys.stderr)
    return 0


def _prepare_environment(settings) -> None:
    """Settings that must reach BentoML and the worker processes (they inherit this environment)."""
    if settings.bentoml_home is not None or "BENTOML_HOME" not in os.environ:
        os.environ["BENTOML_HOME"] = str(settings.bento_home)
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")  # no usage statistics leave the office
    # one thread per worker: LightGBM is set to one thread after loading, and so are numpy's and OpenMP's pools
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in a server's log


@command("serve")
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

    from klinik.serving.records import RecordsError, open_records

    try:
        open_records(settings).close()  # the decision record: a first run creates it, another schema refuses
    except RecordsError as err:
        raise CommandFailed(f"cannot start: {err}") from None

    from klinik.serving.bento_store import CannotServe, NoUsableModel, import_champions, loaded_models

    try:
        champions = import_champions(settings)
        loaded_models(champions["risk"], champions["recovery"], settings)  # a model that will not load fails here, once
    except CannotServe as err:
        code = EXIT_NO_MODEL if isinstance(err, NoUsableModel) else EXIT_FAILED
        raise CommandFailed(f"cannot start: {err}", code) from None
    except Exception as err:  # noqa: BLE001 -- one line for the officer; the model engineer reads the detail
        first = str(err).splitlines()[0][:300] if str(err) else ""
        raise CommandFailed(
            f"cannot start: the champion models do not load: {type(err).__name__}: {first}", EXIT_NO_MODEL
        ) from None

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
        raise CommandFailed(f"cannot start: {host}:{port}: {err.strerror or err}") from None
    except KeyboardInterrupt:
        pass
    return 0


@command("deploy-check")
def run_deploy_check(scores: Path | None, services: list[str]) -> int:
    """Print one line per part of the deployment (serving/deploy_check.py); exit 1 when any is not right."""
    from klinik.serving.deploy_check import deploy_checks
    from klinik.settings import get_settings

    checks = deploy_checks(get_settings(), scores, services)
    for check in checks:
        print(check.line())
    problems = [c.part for c in checks if not c.ok]
    if problems:
        raise CommandFailed(f"{len(problems)} problem(s): {', '.join(problems)}")
    return 0
