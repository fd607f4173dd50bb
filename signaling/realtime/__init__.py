"""Socket.IO adapters: validate, call the center once, acknowledge."""

from .server import attach_socketio

__all__ = ["attach_socketio"]
