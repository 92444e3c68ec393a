"""Benchmarks of the offline preview and a deployment-time estimate of the estate (issue 5); see README.md here."""
