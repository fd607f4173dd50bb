"""HTTP adapters: the REST API of the contract, the pages, health and metrics."""

from .routes import setup_routes

__all__ = ["setup_routes"]
