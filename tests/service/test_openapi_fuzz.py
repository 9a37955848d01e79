"""Property-based run (schemathesis) over the served OpenAPI document with a valid token:
no 5xx, no answer that breaks the document (status codes, schemas, content types)."""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from catalog_ingest.service.context import ServiceContext
from tests.service.conftest import PROVIDER
from tests.support.http_service import ALL_TOKEN, bearer

EXAMPLES = 40
"""Per operation; half of the provider routes' cases name the configured provider."""


def _named(case: Any) -> Any:
    if case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = PROVIDER
    return case


def _excluded(case: Any) -> list[Any]:
    """A read route's cursor (``cursor``, ``after``) is opaque: any string is schema-valid, only
    the service's own decode, so a made-up one is a 400 by design, not a refused valid input."""
    if {"cursor", "after"} & set(case.query or {}):
        return [positive_data_acceptance]
    return []


def operations(base_url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=bearer(ALL_TOKEN))
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises: the test fails
        found.append(operation)
    return found


def test_the_document_lists_every_management_route(base_url: str) -> None:
    paths = {(op.method.upper(), op.path) for op in operations(base_url)}
    base = "/api/catalog/incremental"
    assert {
        ("GET", f"{base}/health"),
        ("GET", f"{base}/providers"),
        ("GET", f"{base}/providers/{{name}}"),
        ("POST", f"{base}/providers/{{name}}/trigger"),
        ("POST", f"{base}/providers/{{name}}/start"),
        ("POST", f"{base}/providers/{{name}}/cancel"),
        ("DELETE", f"{base}/providers/{{name}}"),
        ("GET", f"{base}/providers/{{name}}/marks"),
        ("DELETE", f"{base}/providers/{{name}}/marks"),
        ("POST", f"{base}/cleanup"),
    } <= paths


@pytest.mark.parametrize("service_database_url", ["postgresql"], indirect=True)
def test_no_operation_answers_a_5xx_or_breaks_its_schema(
    base_url: str, service: ServiceContext
) -> None:
    service.runtime.engine.tick(PROVIDER)  # a completed pass: marks and figures to serve
    failures: list[str] = []
    for operation in operations(base_url):
        strategy = operation.as_strategy()

        @given(case=st.one_of(strategy, strategy.map(_named)))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=bearer(ALL_TOKEN), excluded_checks=_excluded(case))

        try:
            check()
        except BaseException as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
