"""The system tests' one server: the real `klinik serve` on 127.0.0.1, started once per session (about 15 s) and
shared by every module that talks HTTP to it, with the real batch output for /lookup, /decisions and the staff
page, and the staff accounts of STAFF in its decision record.

Every bad request of every module goes to the same server; each module ends by checking it still answers.
"""

from __future__ import annotations

import httpx
import pytest
from service_helpers import (
    API_KEY,
    AS_OF,
    BODY_READ_TIMEOUT_S,
    MAX_BODY,
    MAX_COOPS,
    STAFF,
    add_staff,
    klinik,
    running_server,
)

from klinik.serving.service_io import payload_from_dataset


@pytest.fixture(scope="session")
def batch(trained_registry, world_dir, tmp_path_factory):
    """The real batch job's output for the world: what /lookup reads, and what /score must agree with."""
    tmp = tmp_path_factory.mktemp("batch")
    out = tmp / "scores"
    done = klinik(
        ["score", "--data", str(world_dir), "--as-of", str(AS_OF), "--out", str(out), "--quiet"], trained_registry, tmp
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out / "scores.parquet"


@pytest.fixture(scope="session")
def server(trained_registry, batch, tmp_path_factory):
    from klinik.settings import get_settings

    tmp = tmp_path_factory.mktemp("serve")
    add_staff(get_settings(work_dir=tmp / "work"), STAFF)  # the record `klinik serve` opens there
    with running_server(
        trained_registry,
        tmp,
        KLINIK_API_KEY=API_KEY,
        KLINIK_MAX_COOPS_PER_REQUEST=str(MAX_COOPS),
        KLINIK_MAX_BODY_BYTES=str(MAX_BODY),
        KLINIK_BODY_READ_TIMEOUT_S=str(BODY_READ_TIMEOUT_S),
        KLINIK_LOOKUP_SCORES_PATH=str(batch),
    ) as srv:
        yield srv


@pytest.fixture(scope="session")
def http(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def one_coop(world) -> dict:
    """A cooperative alive in AS_OF with several years of every kind of record, as a /score request carries it."""
    coops = world.cooperatives
    alive = coops.loc[(coops["founded_year"] <= AS_OF - 5) & coops["dissolved_year"].isna(), "coop_id"]
    counts = world.financials.loc[world.financials["coop_id"].isin(alive)].groupby("coop_id").size()
    return payload_from_dataset(world, [counts.idxmax()])[0]
