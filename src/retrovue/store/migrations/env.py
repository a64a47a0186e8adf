"""Alembic environment: migrations always run on a connection handed in by `retrovue.store.db`.

There is no alembic.ini URL: the catalog URL comes from Retrovue's own configuration, and the caller
passes an open connection as `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

from retrovue.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise SystemExit("Run migrations through retrovue (retrovue.store.db.migrate), not the alembic CLI.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
