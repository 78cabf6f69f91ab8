"""The team's deployment, with the servers a team runs: a PostgreSQL server, an MLflow tracking server on it with
basic-auth and served artifacts, and ``klinik`` reaching it through MLflow's own variables only.

Two people train at once (one champion per model, each decision logged), the batch job scores and the service
serves from that registry, a client without credentials is refused, and two service replicas on one registry and
one PostgreSQL decision record answer alike and see each other's decisions at once.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
from service_helpers import API_KEY, AS_OF, KLINIK, klinik_env, running_server

pytestmark = pytest.mark.slow


def run(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([KLINIK, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def team(mlflow_server, postgres_server, world_dir, tmp_path_factory):
    """Two analysts, each with a work folder of their own, train at the same moment against the shared registry and
    the shared decision record; then the batch job scores the world through the registry."""
    from types import SimpleNamespace

    tmp = tmp_path_factory.mktemp("team")
    database_url = postgres_server.new_database()
    shared = {**mlflow_server.client_env(), "KLINIK_DATABASE_URL": database_url, "KLINIK_TRAIN_FOLDS": "3"}

    def env_of(who: str) -> dict[str, str]:
        return klinik_env(mlflow_server.url, tmp / who, **shared, KLINIK_TRAIN_THREADS="1")

    upgraded = run(["db", "upgrade"], env_of("operator"), timeout=300)  # the operator sets the record up first
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    started = time.monotonic()
    trainings = [
        subprocess.Popen(
            [KLINIK, "train", "--data", str(world_dir)],
            env=env_of(who),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("analyst-a", "analyst-b")
    ]
    outputs = [p.communicate(timeout=1200) for p in trainings]
    for p, (out, err) in zip(trainings, outputs, strict=True):
        assert p.returncode == 0, f"{out}\n{err[-3000:]}"
    train_seconds = time.monotonic() - started

    scores = tmp / "scores" / str(AS_OF)
    done = run(["score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(scores)], env_of("analyst-a"))
    assert done.returncode == 0, done.stderr[-3000:]
    return SimpleNamespace(
        tmp=tmp,
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


def test_a_client_without_credentials_is_refused(mlflow_server, team):
    answer = httpx.get(f"{mlflow_server.url}/api/2.0/mlflow/registered-models/search", timeout=30)
    assert answer.status_code == 401
    wrong = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow/registered-models/search", auth=("admin", "not-the-password"), timeout=30
    )
    assert wrong.status_code == 401
    right = httpx.get(
        f"{mlflow_server.url}/api/2.0/mlflow/registered-models/search",
        auth=(
            mlflow_server.client_env()["MLFLOW_TRACKING_USERNAME"],
            mlflow_server.client_env()["MLFLOW_TRACKING_PASSWORD"],
        ),
        timeout=30,
    )
    assert right.status_code == 200 and {m["name"] for m in right.json()["registered_models"]} >= {
        "koperasi-risk",
        "koperasi-recovery",
    }


def test_the_batch_job_without_credentials_stops_with_one_line(team, world_dir):
    env = team.env_of("stranger")
    env.pop("MLFLOW_TRACKING_USERNAME"), env.pop("MLFLOW_TRACKING_PASSWORD")
    done = run(["score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(team.tmp / "x")], env)
    assert done.returncode != 0
    assert not (team.tmp / "x").exists()


@pytest.mark.parametrize("name", ["koperasi-risk", "koperasi-recovery"])
def test_two_trainings_at_once_leave_one_champion_and_both_decisions(team, client, name):
    versions = {mv.version: mv for mv in client.search_model_versions(f"name='{name}'")}
    assert sorted(versions) == ["1", "2"]
    for mv in versions.values():
        assert mv.tags["promotion_decision"], mv.tags
        assert mv.tags["promoted"] in ("True", "False")
        run_tags = client.get_run(mv.run_id).data.tags
        assert run_tags["promotion_decision"] == mv.tags["promotion_decision"]
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
    import json

    manifest = json.loads((team.scores / "manifest.json").read_text())
    for kind in ("risk", "recovery"):
        champion = client.get_model_version_by_alias(f"koperasi-{kind}", "champion")
        assert manifest["models"][kind]["version"] == champion.version


def test_deploy_check_says_all_is_well_and_what_is_not(team, tmp_path):
    import json
    import shutil

    env = {**team.env_of("operator"), "KLINIK_DATABASE_URL": team.database_url}
    done = run(["deploy-check", "--scores", str(team.scores)], env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    parts = ("tracking server", "champion risk", "champion recovery", "decision record", "batch output")
    assert [line.split()[0] for line in lines] == ["ok"] * 5, done.stdout
    assert all(part in line for part, line in zip(parts, lines, strict=True))
    assert env["MLFLOW_TRACKING_PASSWORD"] not in done.stdout + done.stderr

    stale = shutil.copytree(team.scores, tmp_path / "stale")  # scored with a version that is not the champion
    manifest = json.loads((stale / "manifest.json").read_text())
    manifest["models"]["risk"]["version"] = "99"
    (stale / "manifest.json").write_text(json.dumps(manifest))
    (stale / "scores.csv").write_text("changed by hand\n")
    done = run(["deploy-check", "--scores", str(stale)], env, timeout=300)
    assert done.returncode == 1
    [line] = [line for line in done.stdout.splitlines() if "batch output" in line]
    assert line.startswith("PROBLEM") and "scores.csv" in line
    assert "klinik deploy-check: 1 problem(s): batch output" in done.stderr
    (stale / "scores.csv").write_bytes((team.scores / "scores.csv").read_bytes())
    done = run(["deploy-check", "--scores", str(stale)], env, timeout=300)
    assert done.returncode == 1 and "risk v99 (champion v" in done.stdout and "run `klinik score` again" in done.stdout

    anonymous = {k: v for k, v in env.items() if k not in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    done = run(["deploy-check", "--scores", str(team.scores)], anonymous, timeout=300)
    assert done.returncode == 1
    [line] = [line for line in done.stdout.splitlines() if "tracking server" in line]
    assert line.startswith("PROBLEM") and "MLFLOW_TRACKING_USERNAME" in line


def test_two_replicas_answer_alike_and_share_decisions(team, world):
    import pandas as pd

    from klinik.serving.service_io import payload_from_dataset

    book = pd.read_parquet(team.scores / "scores.parquet")
    reach = str(book.loc[book["action"] == "JANGKAU", "coop_id"].iloc[0])
    extra = {
        "KLINIK_API_KEY": API_KEY,
        "KLINIK_DATABASE_URL": team.database_url,
        "KLINIK_LOOKUP_SCORES_PATH": str(team.scores / "scores.parquet"),
        "MLFLOW_TRACKING_USERNAME": team.env_of("x")["MLFLOW_TRACKING_USERNAME"],
        "MLFLOW_TRACKING_PASSWORD": team.env_of("x")["MLFLOW_TRACKING_PASSWORD"],
    }
    from klinik.serving.records import open_records
    from klinik.settings import get_settings

    records = open_records(get_settings(database_url=team.database_url))
    for officer in ("petugas-1", "petugas-2"):
        records.add_user(officer, "petugas", "kopi-tubruk-pagi")
    records.close()
    registry = type("Registry", (), {"tracking_uri": team.tracking_uri})
    (team.tmp / "replica-1").mkdir()
    (team.tmp / "replica-2").mkdir()
    body = {"cooperatives": payload_from_dataset(world, list(book["coop_id"].astype(str)[:40])), "as_of_year": AS_OF}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        running_server(registry, team.tmp / "replica-1", **extra) as one,
        running_server(registry, team.tmp / "replica-2", **extra) as two,
        httpx.Client(base_url=one.url, headers=headers, timeout=120) as first,
        httpx.Client(base_url=two.url, headers=headers, timeout=120) as second,
    ):
        answers = [c.post("/score", json=body) for c in (first, second)]
        assert [a.status_code for a in answers] == [200, 200], answers[0].text[:2000]
        assert answers[0].json() == answers[1].json()
        assert first.post("/model", json={}).json() == second.post("/model", json={}).json()

        recorded = first.post("/decisions", json={"coop_id": reach, "decision": "dijadwalkan", "officer": "petugas-1"})
        assert recorded.status_code == 201, recorded.text
        seen = second.get("/decisions", params={"coop_id": reach}).json()["decisions"]
        assert [d["decision"] for d in seen] == ["DIJADWALKAN"]
        changed = second.post("/decisions", json={"coop_id": reach, "decision": "dijangkau", "officer": "petugas-2"})
        assert changed.status_code in (200, 201) and changed.json()["decision"]["version"] == 2
        seen = first.get("/decisions", params={"coop_id": reach}).json()["decisions"]
        assert [d["decision"] for d in seen] == ["DIJANGKAU", "DIJADWALKAN"]

        checked = run(
            ["deploy-check", "--scores", str(team.scores), "--service", one.url, "--service", two.url],
            {**team.env_of("operator"), "KLINIK_API_KEY": API_KEY},
            timeout=300,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert sum(line.startswith("ok") and "service" in line for line in checked.stdout.splitlines()) == 2


def test_the_bento_builds_from_the_wheel_and_imports_the_service(team, tmp_path):
    """``bentoml build`` for real, with the project as a wheel; the built Bento's own files (and the wheel it
    installs) import ``klinik.serving.service``, not the developer's checkout."""
    import shutil
    import sys
    import zipfile
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    python, bentoml = sys.executable, str(Path(sys.executable).with_name("bentoml"))
    env = {**team.env_of("bento"), "BENTOML_HOME": str(tmp_path / "bentoml")}
    imported = subprocess.run(
        [python, "-c", "from klinik.serving.bento_store import import_champions\n"
         "from klinik.settings import get_settings\nimport_champions(get_settings())"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr[-3000:]

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
    [bento] = (tmp_path / "bentoml" / "bentos" / "klinik-koperasi").glob("*/bento.yaml")
    bento = bento.parent
    assert (bento / "env" / "python" / "wheels" / wheel.name).is_file()
    assert not (bento / "src" / "klinik").exists()  # a copied klinik/ would hide the installed klinik.serving
    pinned = (bento / "bento.yaml").read_text()  # the models are pinned by tag and travel from the store with it
    assert "tag: koperasi-risk:" in pinned and "tag: koperasi-recovery:" in pinned

    site = tmp_path / "site"  # what the container's pip install of the wheel puts on its path
    zipfile.ZipFile(wheel).extractall(site)
    probe = subprocess.run(
        [python, "-c", "import sys; sys.path[:0] = sys.argv[1:]\nimport klinik.serving.service as s\nprint(s.__file__)",
         str(bento / "src"), str(site)],
        cwd=bento / "src", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.strip().startswith(str(site))
