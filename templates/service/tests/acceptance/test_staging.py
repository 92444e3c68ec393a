"""The deployed service in staging, called through its Kubernetes Service.

The CD pipeline port-forwards to that Service and points STAGING_BASE_URL at the local end.
"""

import httpx2


def test_liveness(staging: httpx2.Client) -> None:
    response = staging.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok"


def test_readiness(staging: httpx2.Client) -> None:
    assert staging.get("/readyz").status_code == 200


def test_info_describes_the_deployed_service(staging: httpx2.Client) -> None:
    response = staging.get("/api/v1/info")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"service", "version"}
    assert all(isinstance(value, str) and value for value in body.values())
