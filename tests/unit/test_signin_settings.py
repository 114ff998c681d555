"""Sign-in providers by settings: Google's preset, others as JSON, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import ApiSettings

REAL = "a-long-random-secret-for-production-0123456789"


def test_google_preset_and_providers_by_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_OIDC_PROVIDERS", '{"acme": {"issuer": "https://id.acme.example", "client_id": "c"}}')
    settings = ApiSettings(environment="development", google_client_id="g", _env_file=None)
    providers = settings.sign_in_providers()
    assert list(providers) == ["google", "acme"]
    assert providers["google"].issuer == "https://accounts.google.com" and providers["acme"].client_id == "c"
    monkeypatch.delenv("API_OIDC_PROVIDERS")
    assert ApiSettings(environment="development", _env_file=None).sign_in_providers() == {}


def test_a_placeholder_client_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="real client secret"):
        ApiSettings(environment="production", jwt_secret=REAL, google_client_id="g", _env_file=None)
    ok = ApiSettings(
        environment="production", jwt_secret=REAL, google_client_id="g", google_client_secret=REAL, _env_file=None
    )
    assert ok.sign_in_providers()["google"].client_secret.get_secret_value() == REAL
