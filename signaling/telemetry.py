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
        # The session writer (store/writer.py) and the database behind it.
        self.database_available = Gauge(
            "vw_database_available", "1 while the database answers the session writer, 0 during an outage",
            registry=self.registry,
        )
        self.database_available.set(1)
        self.database_outages = Counter(
            "vw_database_outages_total", "Times the database stopped answering", registry=self.registry
        )
        self.database_outage_seconds = Counter(
            "vw_database_outage_seconds_total", "Seconds the database was unavailable (counted when it returns)",
            registry=self.registry,
        )
        self.store_backlog = Gauge(
            "vw_store_backlog_records", "Session records waiting to be written", registry=self.registry
        )
        self.store_group_records = Histogram(
            "vw_store_group_records", "Session records written per transaction",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500), registry=self.registry,
        )
        self.store_dropped = Counter(
            "vw_store_dropped_records_total", "Session records the database refused on their own (dropped, logged)",
            registry=self.registry,
        )
        # Network quality (engine/quality.py): one observation per leg and sampling period.
        self.quality_rtt_seconds = Histogram(
            "vw_quality_rtt_seconds", "Round-trip time between the server and a party, per sample",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.0, 2.0), registry=self.registry,
        )
        self.quality_loss_ratio = Histogram(
            "vw_quality_loss_ratio", "Packet loss per sample (in: party to server; out: server to party)",
            ["direction"], buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5), registry=self.registry,
        )
        self.quality_kbps = Histogram(
            "vw_quality_kbps", "Bitrate per sample, kbit/s (in: received from a party; out: sent to it)",
            ["direction"], buckets=(16, 32, 64, 128, 256, 512, 1000, 1500, 2500, 4000), registry=self.registry,
        )
        self.quality_samples = Counter(
            "vw_quality_samples_total", "Quality samples by level", ["level"], registry=self.registry
        )
        self.quality_poor_calls = Counter(
            "vw_quality_poor_calls_total", "Sessions ended as poor calls (a party poor in 20% of its samples or more)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
