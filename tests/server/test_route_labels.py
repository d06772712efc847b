"""Metrics label requests by the app's own route paths: a route added to the app needs no other edit."""

from __future__ import annotations


def test_metrics_label_every_route_of_the_app(service):
    from fastapi.testclient import TestClient

    from ananke._config import load_config
    from ananke.server import create_app

    app = create_app(service, load_config(env={}))

    @app.get("/added-later")
    def added_later() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/added-later").json() == {"ok": True}
        assert client.get("/v1/models").status_code == 200
        assert client.get("/no/such/route").status_code == 404
        text = client.get("/metrics").text
    assert 'route="/added-later",status="200"' in text
    assert 'route="/v1/models",status="200"' in text
    assert 'route="other",status="404"' in text and "/no/such/route" not in text


def test_requests_refused_before_routing_are_labelled_by_path(service):
    from fastapi.testclient import TestClient

    from ananke._config import load_config
    from ananke.server import create_app

    app = create_app(service, load_config(env={}, overrides={"auth.api_key": "k"}))
    with TestClient(app) as client:
        assert client.get("/v1/models").status_code == 401  # the middleware answers; no route ran
        assert client.get("/nowhere").status_code == 401
        text = client.get("/metrics", headers={"Authorization": "Bearer k"}).text
    assert 'route="/v1/models",status="401"' in text
    assert 'route="other",status="401"' in text
