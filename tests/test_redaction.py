"""Secrets never reach logs or stored errors."""

from catalog_ingest.engine.redaction import (
    MAX_ERROR_LENGTH,
    Redactor,
    is_secret_key,
    mask_url_password,
    secret_values,
    url_passwords,
)


def test_configured_secrets_are_replaced() -> None:
    assert Redactor(["s3cret-value"]).redact("token s3cret-value in url") == "token *** in url"


def test_credential_shapes_are_redacted_without_configuration() -> None:
    redactor = Redactor()
    assert redactor.redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert redactor.redact("postgresql://user:pw@host/db") == "postgresql://user:***@host/db"
    assert redactor.redact("GET /x?token=abc&y=1") == "GET /x?token=***&y=1"


def test_stored_errors_name_the_type_and_are_truncated() -> None:
    text = Redactor().describe_error(ValueError("x" * 10_000))
    assert text.startswith("ValueError: xxx")
    assert len(text) <= MAX_ERROR_LENGTH
    assert text.endswith("[truncated]")


def test_a_password_in_a_url_is_a_secret_as_written_and_decoded() -> None:
    assert url_passwords("postgresql://ingest:p%40ss@db/ingest") == ["p%40ss", "p@ss"]
    assert url_passwords("https://oc.example/api") == []
    assert url_passwords(None) == []


def test_a_password_in_a_url_is_masked_in_text() -> None:
    assert mask_url_password("'ftp://user:pa55word@oc.example'") == "'ftp://user:***@oc.example'"


def test_keys_naming_secrets_are_recognised_in_either_spelling() -> None:
    secret = ["apiKey", "api_key", "password", "adminPassword", "passwd", "token", "clientSecret"]
    assert all(is_secret_key(key) for key in secret)
    assert not any(is_secret_key(key) for key in ["seed", "baseUrl", "namespace", 1, None])


def test_values_under_secret_keys_are_secrets_at_any_depth() -> None:
    settings = {
        "apiKey": "key-a",
        "api_token": "tok-a",
        "client_secret": "sec-a",
        "nested": {"adminPassword": 1234, "enabled": True},
        "passwords": ["pw-1", "pw-2"],
        "empty_password": "",
        "seed": 1,
        "url": "postgresql://ingest:db-pw@db/ingest",
    }

    found = [secret for secret in secret_values(settings) if secret]

    assert found == ["key-a", "tok-a", "sec-a", "1234", "pw-1", "pw-2", "db-pw", "db-pw"]


def test_hiding_secrets_changes_nothing_else() -> None:
    redactor = Redactor(["s3cret-value", "123"])

    assert redactor.hide_secrets("{token: ***} s3cret-value 123") == "{token: ***} *** 123"
