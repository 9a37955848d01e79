"""Secrets never reach logs or stored errors."""

from catalog_ingest.engine.redaction import MAX_ERROR_LENGTH, Redactor


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
