"""The bootstrap program: what the IaC pipelines (pipelines/infra/) need before the estate's first `pulumi up`."""
