"""Backend selection: the database URL picks the `ProfileStore` implementation."""

from __future__ import annotations

from target_service.metrics import ServiceMetrics
from target_service.settings import Settings, SettingsError
from target_service.storage import ProfileStore


def build_store(settings: Settings, metrics: ServiceMetrics) -> ProfileStore:
    """SQLite for `sqlite:///path`, MySQL/MariaDB (asyncmy pools + replicas) for `mysql://`."""
    if settings.db_url.startswith("sqlite:"):
        from target_service.sqlite_store import SQLiteProfileStore

        return SQLiteProfileStore(settings, metrics)
    if settings.db_url.startswith("mysql://"):
        # Imported lazily: the embedded default must not need the MySQL driver's import cost.
        from target_service.mysql_store import MySQLProfileStore

        store: ProfileStore = MySQLProfileStore(settings, metrics)
        return store
    raise SettingsError(f"unsupported database URL {settings.db_url!r}")
