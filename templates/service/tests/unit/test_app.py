from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from service import __version__
from service.app import create_app
from service.config import Settings


@pytest.fixture
def client() -> Iterator[TestClient]:
    # Entering the client runs the lifespan, as uvicorn does before it accepts connections.
    with TestClient(create_app(Settings(service_name="orders"))) as client:
        yield client


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok"


def test_readyz_is_ready_once_started(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200


def test_readyz_refuses_traffic_before_startup() -> None:
    client = TestClient(create_app(Settings()))  # not entered: the lifespan has not run

    assert client.get("/readyz").status_code == 503


def test_readyz_refuses_traffic_after_shutdown() -> None:
    app = create_app(Settings())
    with TestClient(app):
        pass

    assert TestClient(app).get("/readyz").status_code == 503


def test_info_reports_service_name_and_version(client: TestClient) -> None:
    response = client.get("/api/v1/info")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"service": "orders", "version": __version__}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/v1/info"])
def test_endpoints_are_read_only(client: TestClient, path: str) -> None:
    assert client.post(path).status_code == 405


def test_unknown_paths_are_not_found(client: TestClient) -> None:
    assert client.get("/api/v1/missing").status_code == 404
