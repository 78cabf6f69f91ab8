"""The team's deployment, with the servers a team runs: a PostgreSQL server, an MLflow tracking server on it with
basic-auth and served artifacts, and ``klinik`` reaching it through MLflow's own variables only.

Two people train at once (one champion per model, each decision logged), the batch job scores and the service
serves from that registry, a client without credentials is refused, and two service replicas on one registry and
one PostgreSQL decision record answer alike and see each other's decisions at once; the Bento builds from the
project's wheel with the champions the replicas imported.

Kept fast on purpose (the whole module in 2-3 minutes on a quiet machine): a small world of its own (the cost of
a training against a remote registry is mostly fixed: imports, figures, the model's files), one session-wide
mlflow server that remembers checked passwords (tests/mlflow_server.py), the replicas started side by side and
shared by the tests that need running services.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from types import SimpleNamespace

import httpx
import pytest
from service_helpers import API_KEY, AS_OF, KLINIK, klinik_env, running_server

pytestmark = pytest.mark.slow

TEAM_COOPS, TEAM_YEARS, TEAM_SEED = 120, (2016, AS_OF), 7  # both models train and judge on a holdout
CREDENTIALS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([KLINIK, *args], env=env, capture_output=True, text=True, timeout=timeout)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([KLINIK, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def anonymous(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in CREDENTIALS}


@pytest.fixture(scope="module")
def team(mlflow_server, postgres_server, tmp_path_factory):
    """Two analysts, each with a work folder of their own, train at the same moment against the shared registry and
    the shared decision record; then the batch job scores the world through the registry."""
    from klinik.data.io import write_dataset
    from klinik.data.simulator import simulate

    tmp = tmp_path_factory.mktemp("team")
    data = tmp / "world"
    write_dataset(simulate(n_coops=TEAM_COOPS, years=TEAM_YEARS, seed=TEAM_SEED), data, fmt="csv")
    database_url = postgres_server.new_database()
    shared = {**mlflow_server.client_env(), "KLINIK_DATABASE_URL": database_url, "KLINIK_TRAIN_FOLDS": "3"}

    def env_of(who: str, **extra: str) -> dict[str, str]:
        return klinik_env(mlflow_server.url, tmp / who, **shared, KLINIK_TRAIN_THREADS="1", **extra)

    upgraded = run(["db", "upgrade"], env_of("operator"))  # the operator sets the record up first
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    started = time.monotonic()
    trainings = [start(["train", "--data", str(data)], env_of(who)) for who in ("analyst-a", "analyst-b")]
    outputs = [p.communicate(timeout=900) for p in trainings]
    for p, (out, err) in zip(trainings, outputs, strict=True):
        assert p.returncode == 0, f"{out}\n{err[-3000:]}"
    train_seconds = time.monotonic() - started

    scores = tmp / "scores" / str(AS_OF)
    done = run(["score", "--data", str(data), "--as-of", str(AS_OF), "--out", str(scores), "--quiet"], env_of("a"))
    assert done.returncode == 0, done.stderr[-3000:]
    return SimpleNamespace(
        tmp=tmp,
        data=data,
        env_of=env_of,
        database_url=database_url,
        scores=scores,
        train_outputs=outputs,
        train_seconds=train_seconds,
        tracking_uri=mlflow_server.url,
    )


@pytest.fixture(scope="module")
def client(mlflow_server):
    from mlflow import MlflowClient

    with pytest.MonkeyPatch.context() as mp:
        for key, value in mlflow_server.client_env().items():
            mp.setenv(key, value)
        yield MlflowClient(tracking_uri=mlflow_server.url)


@pytest.fixture(scope="module")
def replicas(team):
    """Two ``klinik serve`` processes on two ports (started side by side), each with a BentoML store of its own,
    both on the shared registry, the shared decision record and the same batch output; two staff accounts."""
    from klinik.serving.records import open_records
    from klinik.settings import get_settings

    records = open_records(get_settings(database_url=team.database_url))
    for officer in ("petugas-1", "petugas-2"):
        records.add_user(officer, "petugas", "kopi-tubruk-pagi")
    records.close()
    extra = {
        "KLINIK_API_KEY": API_KEY,
        "KLINIK_DATABASE_URL": team.database_url,
        "KLINIK_LOOKUP_SCORES_PATH": str(team.scores / "scores.parquet"),
        **{key: team.env_of("x")[key] for key in CREDENTIALS},
    }
    registry = SimpleNamespace(tracking_uri=team.tracking_uri)
    homes = [team.tmp / "replica-1", team.tmp / "replica-2"]
    for home in homes:
        home.mkdir()
    with ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        servers = list(pool.map(lambda home: stack.enter_context(running_server(registry, home, **extra)), homes))
        yield servers


def test_a_client_without_credentials_is_refused(mlflow_server, team):
    search = f"{mlflow_server.url}/api/2.0/mlflow/registered-models/search"
    assert httpx.get(search, timeout=30).status_code == 401
    assert httpx.get(search, auth=("admin", "not-the-password"), timeout=30).status_code == 401
    env = mlflow_server.client_env()
    right = httpx.get(search, auth=tuple(env[key] for key in CREDENTIALS), timeout=30)
    assert right.status_code == 200
    assert {m["name"] for m in right.json()["registered_models"]} >= {"koperasi-risk", "koperasi-recovery"}


def test_the_batch_job_without_credentials_stops_with_one_line(team):
    out = team.tmp / "refused"
    done = run(
        ["score", "--data", str(team.data), "--as-of", str(AS_OF), "--out", str(out)], anonymous(team.env_of("x"))
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("klinik score: "), done.stderr[-2000:]
    assert not out.exists()


@pytest.mark.parametrize("name", ["koperasi-risk", "koperasi-recovery"])
def test_two_trainings_at_once_leave_one_champion_and_both_decisions(team, client, name):
    versions = {mv.version: mv for mv in client.search_model_versions(f"name='{name}'")}
    assert sorted(versions) == ["1", "2"]
    for mv in versions.values():
        assert mv.tags["promotion_decision"], mv.tags
        assert mv.tags["promoted"] in ("True", "False")
        run_tags = client.get_run(mv.run_id).data.tags
        assert run_tags["promotion_decision"] == mv.tags["promotion_decision"]
        assert run_tags["promoted"] == mv.tags["promoted"]
    # the later one to decide was judged against the earlier one: the lock made re-check-then-move one step
    judged_later = [v for v, mv in versions.items() if mv.tags["champion_version_before"]]
    assert len(judged_later) == 1, {v: mv.tags["champion_version_before"] for v, mv in versions.items()}
    [later] = judged_later
    [earlier] = set(versions) - {later}
    assert versions[later].tags["champion_version_before"] == earlier
    assert versions[earlier].tags["promoted"] == "True"  # there was no champion before it
    expected = later if versions[later].tags["promoted"] == "True" else earlier
    assert client.get_model_version_by_alias(name, "champion").version == expected


def test_the_batch_job_scored_with_the_champions(team, client):
    manifest = json.loads((team.scores / "manifest.json").read_text())
    for kind in ("risk", "recovery"):
        champion = client.get_model_version_by_alias(f"koperasi-{kind}", "champion")
        assert manifest["models"][kind]["version"] == champion.version


def test_two_replicas_answer_alike_and_share_decisions(team, replicas):
    import pandas as pd

    from klinik.data.loader import load_dataset
    from klinik.serving.service_io import payload_from_dataset

    book = pd.read_parquet(team.scores / "scores.parquet")
    reach = str(book.loc[book["action"] == "JANGKAU", "coop_id"].iloc[0])
    coops = payload_from_dataset(load_dataset(team.data), list(book["coop_id"].astype(str)[:40]))
    body = {"cooperatives": coops, "as_of_year": AS_OF}
    one, two = replicas
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        httpx.Client(base_url=one.url, headers=headers, timeout=120) as first,
        httpx.Client(base_url=two.url, headers=headers, timeout=120) as second,
    ):
        answers = [c.post("/score", json=body) for c in (first, second)]
        assert [a.status_code for a in answers] == [200, 200], answers[0].text[:2000]
        assert answers[0].json() == answers[1].json()
        # the same registered versions, runs and metrics; only the tag each replica's own store gave its copy differs
        served = [c.post("/model", json={}).json()["models"] for c in (first, second)]
        for models in served:
            for model in models.values():
                assert model.pop("bento_tag").startswith(model["name"] + ":")
        assert served[0] == served[1]

        recorded = first.post("/decisions", json={"coop_id": reach, "decision": "dijadwalkan", "officer": "petugas-1"})
        assert recorded.status_code == 201, recorded.text
        seen = second.get("/decisions", params={"coop_id": reach}).json()["decisions"]
        assert [d["decision"] for d in seen] == ["DIJADWALKAN"]
        changed = second.post("/decisions", json={"coop_id": reach, "decision": "dijangkau", "officer": "petugas-2"})
        assert changed.status_code in (200, 201) and changed.json()["decision"]["version"] == 2
        seen = first.get("/decisions", params={"coop_id": reach}).json()  # oldest first; the later one in force
        assert [d["decision"] for d in seen["decisions"]] == ["DIJADWALKAN", "DIJANGKAU"]
        assert seen["in_force"][str(AS_OF)]["decision"] == "DIJANGKAU"


def test_deploy_check_says_all_is_well_and_what_is_not(team, replicas, tmp_path):
    env = team.env_of("operator", KLINIK_API_KEY=API_KEY)
    stale = shutil.copytree(team.scores, tmp_path / "stale")  # scored with a version that is not the champion
    manifest = json.loads((stale / "manifest.json").read_text())
    manifest["models"]["risk"]["version"] = "99"
    (stale / "manifest.json").write_text(json.dumps(manifest))
    changed = shutil.copytree(stale, tmp_path / "changed")  # ...and a file changed by hand since the run
    (changed / "scores.csv").write_text("changed by hand\n")

    services = [arg for server in replicas for arg in ("--service", server.url)]
    running = {
        "well": start(["deploy-check", "--scores", str(team.scores), *services], env),
        "stale": start(["deploy-check", "--scores", str(stale)], env),
        "anonymous": start(["deploy-check", "--scores", str(changed)], anonymous(env)),
    }
    done = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=300)
        done[name] = SimpleNamespace(returncode=process.returncode, stdout=out, stderr=err)

    well = done["well"]
    assert well.returncode == 0, well.stdout + well.stderr
    lines = well.stdout.splitlines()
    parts = ("tracking server", "champion risk", "champion recovery", "decision record", "batch output")
    parts += ("service",) * len(replicas)
    assert [line.split()[0] for line in lines] == ["ok"] * len(parts), well.stdout
    assert all(part in line for part, line in zip(parts, lines, strict=True))
    assert env["MLFLOW_TRACKING_PASSWORD"] not in well.stdout + well.stderr

    stale = done["stale"]
    assert stale.returncode == 1
    [line] = [line for line in stale.stdout.splitlines() if "batch output" in line]
    assert line.startswith("PROBLEM") and "risk v99 (champion v" in line and "run `klinik score` again" in line
    assert "klinik deploy-check: 1 problem(s): batch output" in stale.stderr

    refused = done["anonymous"]
    assert refused.returncode == 1
    [line] = [line for line in refused.stdout.splitlines() if "tracking server" in line]
    assert line.startswith("PROBLEM") and "MLFLOW_TRACKING_USERNAME" in line
    [line] = [line for line in refused.stdout.splitlines() if "batch output" in line]
    assert line.startswith("PROBLEM") and "scores.csv" in line
    assert "klinik deploy-check: 2 problem(s): tracking server, batch output" in refused.stderr


def test_the_bento_builds_from_the_wheel_and_imports_the_service(team, replicas, tmp_path):
    """``bentoml build`` for real, with the project as a wheel and the champions a replica imported (pinned by tag,
    exactly the ones it serves); the built Bento's own files (and the wheel it installs) import
    ``klinik.serving.service``, not the developer's checkout."""
    import sys
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    python, bentoml = sys.executable, str(Path(sys.executable).with_name("bentoml"))
    store = shutil.copytree(Path(replicas[0].env["BENTOML_HOME"]) / "models", tmp_path / "bentoml" / "models")
    env = {**team.env_of("bento"), "BENTOML_HOME": str(store.parent)}

    ctx = tmp_path / "ctx"  # the repository's bentofile, pointing at a wheel built here (no dist/ left in the repo)
    ctx.mkdir()
    wheel_dir = ctx / "dist"
    built = subprocess.run(
        [python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(repo)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheel_dir.glob("klinik_koperasi-*.whl")
    bentofile = (repo / "bentofile.yaml").read_text()
    assert f"./dist/{wheel.name}" in bentofile, "bentofile.yaml names another wheel than the project's version"
    shutil.copy(repo / "bentofile.yaml", ctx / "bentofile.yaml")
    shutil.copy(repo / "requirements.lock", ctx / "requirements.lock")
    done = subprocess.run(  # bentoml reads the bentofile only from inside its working folder
        [bentoml, "build", ".", "--output", "tag"], cwd=ctx, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    [bento] = (store.parent / "bentos" / "klinik-koperasi").glob("*/bento.yaml")
    bento = bento.parent
    assert (bento / "env" / "python" / "wheels" / wheel.name).is_file()
    assert not (bento / "src" / "klinik").exists()  # a copied klinik/ would hide the installed klinik.serving
    shown = subprocess.run(
        [bentoml, "get", done.stdout.strip().splitlines()[-1].removeprefix("__tag__:"), "-o", "json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    (service,) = json.loads(shown.stdout)["services"]
    pinned = {m["tag"].split(":")[0]: m["tag"] for m in service["models"]}  # they travel from the store with it
    answer = httpx.post(f"{replicas[0].url}/model", json={}, headers={"Authorization": f"Bearer {API_KEY}"})
    served = {m["bento_tag"].split(":")[0]: m["bento_tag"] for m in answer.json()["models"].values()}
    assert pinned == served  # exactly the models the replica serves, by tag

    site = tmp_path / "site"  # what the container's pip install of the wheel puts on its path
    zipfile.ZipFile(wheel).extractall(site)
    probe = subprocess.run(
        [python, "-c", "import sys; sys.path[:0] = sys.argv[1:]\nimport klinik.serving.service as s\nprint(s.__file__)",
         str(bento / "src"), str(site)],
        cwd=bento / "src", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.strip().startswith(str(site))
