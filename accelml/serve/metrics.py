"""Prometheus metrics of one server, in a registry of its own (so that two apps in one process never mix)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ENDPOINTS", "ServiceMetrics"]

# Paths counted under their own name; anything else is counted as "other", so that scanners probing random URLs
# cannot grow the number of label values without bound.
ENDPOINTS = frozenset({"/predict", "/recommend", "/health", "/metadata", "/metrics", "/monitor", "/docs",
                       "/openapi.json", "/redoc"})

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ERROR_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                415: "unsupported_media_type", 422: "invalid_input", 500: "internal"}


class ServiceMetrics:
    """Request counts by endpoint, method and status; latency; errors by kind; rows predicted; per-row warnings."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("accelml_requests", "HTTP requests by endpoint, method and status code.",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("accelml_request_duration_seconds", "Time to answer a request, in seconds.",
                                 ["endpoint"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("accelml_errors", "Error responses by endpoint and kind.", ["endpoint", "kind"],
                              registry=self.registry)
        self.rows = Counter("accelml_rows_predicted", "Rows predicted.", registry=self.registry)
        self.row_warnings = Counter("accelml_row_warnings", "Per-row warnings by kind (missing, unseen_category...).",
                                    ["kind"], registry=self.registry)
        self.window_rows = Gauge("accelml_monitor_window_rows", "Recent rows held for drift monitoring.",
                                 registry=self.registry)

    @staticmethod
    def endpoint(path: str) -> str:
        """The label of a request path.

        >>> ServiceMetrics.endpoint("/predict"), ServiceMetrics.endpoint("/wp-admin")
        ('/predict', 'other')
        """
        return path if path in ENDPOINTS else "other"

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        endpoint = self.endpoint(path)
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)
        if status >= 400:
            self.errors.labels(endpoint, _ERROR_KINDS.get(status, f"http_{status}")).inc()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
