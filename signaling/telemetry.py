"""Prometheus metrics for operators (`GET /metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Counter(
            "vw_sessions_total", "Ended sessions by outcome", ["outcome"], registry=self.registry
        )
        self.connect_seconds = Histogram(
            "vw_connect_seconds",
            "Time from request to media flowing both ways",
            buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.specialists = Gauge(
            "vw_specialists", "Connected specialists by state", ["state"], registry=self.registry
        )
        self.legs = Gauge("vw_legs_active", "Open media legs", registry=self.registry)
        self.waiting = Gauge("vw_sessions_waiting", "Sessions waiting for answer", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
