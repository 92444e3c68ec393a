"""Starter HTTP microservice: probes, one API endpoint, JSON logs, Azure Monitor telemetry."""

__version__ = "0.1.0"
