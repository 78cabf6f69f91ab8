"""``klinik deploy-check``: one screen telling an operator whether the parts of a deployment are reachable and agree.

Each check is one line: the tracking server (reachable, credentials accepted), each model's champion, the
decision record (reachable, its schema revision the one this code needs), the latest batch output (its manifest,
its files unchanged, scored with today's champions) and, when asked, running services (ready, serving the
champions). Nothing is changed anywhere; every line that is not ``ok`` says what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from klinik.settings import Settings


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'PROBLEM':8} {self.part:20} {self.detail}"


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:200]


def check_tracking(settings: Settings) -> tuple[Check, object | None]:
    from mlflow import MlflowClient

    uri = settings.mlflow_uri
    shown = _without_password(uri)
    try:
        client = MlflowClient(tracking_uri=uri)
        names = [m.name for m in client.search_registered_models(max_results=100)]
    except Exception as err:  # noqa: BLE001 -- any failure is one line for the operator
        hint = ""
        if "401" in str(err) or "Unauthorized" in str(err):
            hint = ": credentials refused; set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        elif uri.startswith("http"):
            hint = ": is `mlflow server` running there?"
        return Check("tracking server", False, f"{shown}: {_first_line(err)}{hint}"), None
    return Check("tracking server", True, f"{shown} ({len(names)} registered model(s))"), client


def check_champions(client, settings: Settings) -> tuple[list[Check], dict[str, str]]:
    from mlflow.exceptions import MlflowException

    checks, versions = [], {}
    for kind, name in (("risk", settings.risk_model_name), ("recovery", settings.recovery_model_name)):
        try:
            mv = client.get_model_version_by_alias(name, "champion")
        except MlflowException:
            checks.append(Check(f"champion {kind}", False, f"{name} has no @champion: run `klinik train`"))
            continue
        versions[kind] = str(mv.version)
        tags = mv.tags or {}
        metric = settings.promotion_metric
        shown = f", holdout {tags['holdout_year']}" if tags.get("holdout_year") else ""
        shown += f", {metric} {tags[f'holdout_{metric}']}" if tags.get(f"holdout_{metric}") else ""
        checks.append(Check(f"champion {kind}", True, f"{name} v{mv.version}{shown}"))
    return checks, versions


def check_records(settings: Settings) -> Check:
    from klinik.serving import records

    try:
        engine = records.make_engine(settings.records_url)
    except Exception as err:  # noqa: BLE001 -- a URL that is not one, or a driver klinik does not have
        return Check("decision record", False, f"cannot open: {records.failure_line(err)}")
    where = records.safe_url(engine)
    try:
        problem = records.schema_problem(engine)
        _, revision = records.schema_state(engine)
    except Exception as err:  # noqa: BLE001
        return Check("decision record", False, f"{where}: cannot open: {_first_line(getattr(err, 'orig', err))}")
    finally:
        engine.dispose()
    if problem:
        return Check("decision record", False, problem)
    return Check("decision record", True, f"{where}: schema {revision} (current)")


def check_batch_output(folder: Path, settings: Settings, champions: dict[str, str]) -> Check:
    from klinik.serving.manifest import MANIFEST_FILE, _sha256

    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        return Check("batch output", False, f"no {MANIFEST_FILE} in {folder}: run `klinik score` (or pass --scores)")
    try:
        manifest = json.loads(manifest_path.read_text())
        models = manifest["models"]
        used = {kind: str(models[kind]["version"]) for kind in ("risk", "recovery")}
    except (ValueError, KeyError, TypeError) as err:
        return Check("batch output", False, f"{manifest_path} is unreadable or incomplete ({_first_line(err)})")
    changed = [
        o["file"]
        for o in manifest.get("outputs", [])
        if not (folder / o["file"]).is_file() or _sha256(folder / o["file"]) != o["sha256"]
    ]
    what = f"{folder}: {manifest.get('as_of_year')} scored {manifest.get('finished_at', '?')}"
    if changed:
        return Check("batch output", False, f"{what}; changed or missing since the run: {', '.join(changed)}")
    # only the champions that could be read (none when the tracking server is unreachable: its own line says so)
    stale = [
        f"{kind} v{used[kind]} (champion v{champions[kind]})" for kind in champions if used[kind] != champions[kind]
    ]
    if stale:
        return Check("batch output", False, f"{what} with {', '.join(stale)}: run `klinik score` again")
    return Check("batch output", True, f"{what} with risk v{used['risk']}, recovery v{used['recovery']}")


def check_service(url: str, settings: Settings, champions: dict[str, str]) -> Check:
    import httpx

    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            if http.get("/readyz").status_code != 200:
                return Check("service", False, f"{url}: not ready")
            answer = http.post("/model", json={})
            answer.raise_for_status()
    except httpx.HTTPError as err:
        return Check("service", False, f"{url}: {_first_line(err)}")
    served = answer.json().get("models", {})
    versions = {kind: str(served.get(kind, {}).get("version")) for kind in ("risk", "recovery")}
    stale = [
        f"{kind} v{versions[kind]} (champion v{champions[kind]})"
        for kind in champions
        if versions[kind] != champions[kind]
    ]
    if stale:
        return Check("service", False, f"{url}: serves {', '.join(stale)}: restart it to load the champions")
    return Check("service", True, f"{url}: ready, risk v{versions['risk']}, recovery v{versions['recovery']}")


def deploy_checks(settings: Settings, scores: Path | None = None, services: list[str] = ()) -> list[Check]:
    """Every check, in the order an operator reads them."""
    # an unreachable tracking server should answer in seconds, not after minutes of retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    tracking, client = check_tracking(settings)
    checks = [tracking]
    champions: dict[str, str] = {}
    if client is not None:
        found, champions = check_champions(client, settings)
        checks += found
    checks.append(check_records(settings))
    folder = scores or (settings.lookup_scores_path.parent if settings.lookup_scores_path else None)
    checks.append(check_batch_output(folder or settings.work_dir / "scores" / "latest", settings, champions))
    checks += [check_service(url.rstrip("/"), settings, champions) for url in services]
    return checks
