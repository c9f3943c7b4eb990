"""The JSON GET the API tests share: the status and JSON type asserted, the body back."""

from __future__ import annotations

from flask import Flask


def get(app: Flask, url: str, status: int = 200) -> dict:
    resp = app.test_client().get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    return resp.get_json()
