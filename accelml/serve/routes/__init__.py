"""One router per resource: predictions, health, model metadata, Prometheus metrics, drift monitoring."""
