"""The catalog: schema, migrations, and typed data access over a SQLAlchemy engine."""

from retrovue.store.db import open_catalog, resolve_db_url

__all__ = ["open_catalog", "resolve_db_url"]
