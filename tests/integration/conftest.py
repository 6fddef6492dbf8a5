"""Fixtures for the sync integration tests: a real uvicorn server on loopback over SQLite or a
throwaway PostgreSQL cluster (marked ``postgres``), an organisation, and enrolled devices."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldscreen.sync.server.api import ServerConfig
from fieldscreen.sync.server.live import LiveServer, PostgresCluster, postgres_bin
from fieldscreen.sync.server.storage import Storage
from fieldscreen.sync.simulate import SimDevice, SimOrg
from tests.integration.server_support import open_storage


def _install_postgres() -> None:
    """Install PostgreSQL with apt when it is missing and we may (root on Debian/Ubuntu)."""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "postgresql"],
            env=env,
            capture_output=True,
            check=False,
            timeout=900,
        )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    if postgres_bin() is None:
        _install_postgres()
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "server.sqlite3")
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture
def org() -> SimOrg:
    return SimOrg()


@pytest.fixture
def storage(db_url: str, org: SimOrg) -> Iterator[Storage]:
    store = open_storage(db_url)
    store.repos.keys.set_org_keys(org.name, org.sealing_public, org.signing_public)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def server_config() -> ServerConfig:
    return ServerConfig(rate=1000.0, burst=5000, anonymous_rate=1000.0, anonymous_burst=5000)


@pytest.fixture
def server(storage: Storage, server_config: ServerConfig) -> Iterator[LiveServer]:
    live = LiveServer(storage, server_config).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def admin_token(storage: Storage) -> str:
    return storage.repos.credentials.create_credential("admin", [], "test admin")


@pytest.fixture
def new_device(
    server: LiveServer, storage: Storage, org: SimOrg, tmp_path: Path
) -> Callable[..., SimDevice]:
    counter = iter(range(10_000))

    def make(site: str = "site-a", **kwargs: object) -> SimDevice:
        device = SimDevice(
            org,
            server.url,
            tmp_path / f"device-{next(counter)}.sqlite3",
            receipt_public=storage.repos.keys.keys().receipt_public,
            **kwargs,  # type: ignore[arg-type]
        )
        device.enroll(storage.repos.credentials.create_enrol_code(site))
        return device

    return make


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261127)
