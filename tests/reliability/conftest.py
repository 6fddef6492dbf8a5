"""The reliability runs use the integration fixtures (real server, SQLite and PostgreSQL)."""

from tests.integration.conftest import (  # noqa: F401 -- fixtures, registered by import
    admin_token,
    db_url,
    new_device,
    org,
    pg_cluster,
    rng,
    server,
    server_config,
    storage,
)
