"""Persistence: service item catalog, accounts, sessions and their events (SQLAlchemy async)."""

from .catalog import CatalogError, load_catalog_file
from .store import Store, StoreError

__all__ = ["Store", "StoreError", "CatalogError", "load_catalog_file"]
