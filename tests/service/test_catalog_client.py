"""The real ``@backstage/catalog-client`` (npm, run by ``backstage/catalog-client-check``)
against the read API on a real server: its answers equal direct SQL over the catalog."""

import json
import math
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from catalog_ingest.engine.outcome import TickAction
from catalog_ingest.service.context import ServiceContext
from models.catalog_reads import count_by_kind
from tests.service.conftest import PROVIDER
from tests.support.http_service import READ_TOKEN, running_service

CHECK = Path(__file__).resolve().parents[2] / "backstage" / "catalog-client-check" / "check.js"


def run_client(base_url: str, plan: list[dict[str, Any]], refs_only: bool) -> dict[str, Any]:
    """The client's answer to each step of ``plan``, by step name (``refs_only``: entities
    as their lower-cased refs)."""
    command = ["node", str(CHECK), "--base-url", base_url, "--token", READ_TOKEN, "--plan", "-"]
    completed = subprocess.run(
        [*command, "--refs-only"] if refs_only else command,
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(completed.stdout)["results"]
    return {step["name"]: step["result"] for step in results}


def sql_refs(service: ServiceContext, kind: str | None = None) -> list[str]:
    """Lower-cased refs of the merged catalog (one SQL statement over its tables)."""
    statement = (
        "SELECT c.ref FROM catalog_entities c JOIN source_entities s "
        "ON s.source = c.source AND s.ref = c.ref"
        + ("" if kind is None else " WHERE s.kind = :kind")
    )
    with service.runtime.database.connect() as connection:
        rows = connection.execute(text(statement), {"kind": kind}).all()
    return sorted(row[0].lower() for row in rows)


def sql_spec_types(service: ServiceContext) -> dict[str, int]:
    with service.runtime.database.connect() as connection:
        bodies = connection.execute(
            text(
                "SELECT s.body FROM catalog_entities c JOIN source_entities s "
                "ON s.source = c.source AND s.ref = c.ref"
            )
        ).all()
    documents = [b[0] if isinstance(b[0], dict) else json.loads(b[0]) for b in bodies]
    return dict(Counter(d["spec"]["type"] for d in documents if "type" in d["spec"]))


def test_the_backstage_catalog_client_reads_what_sql_counts(service: ServiceContext) -> None:
    assert service.runtime.engine.tick(PROVIDER).action is TickAction.PASS_COMPLETED
    apis = sql_refs(service, "API")
    components = sql_refs(service, "Component")
    plan = [
        {"name": "all", "op": "getEntities", "args": {}},
        {"name": "components", "op": "getEntities", "args": {"filter": {"kind": "component"}}},
        {"name": "apis", "op": "queryEntities", "args": {"filter": {"kind": "API"}, "limit": 7}},
        {
            "name": "by-name",
            "op": "queryEntities",
            "args": {"limit": 50, "orderFields": {"field": "metadata.name", "order": "desc"}},
        },
        {"name": "one", "op": "getEntityByRef", "args": {"entityRef": apis[3]}},
        {"name": "none", "op": "getEntityByRef", "args": {"entityRef": "component:default/nope"}},
        {
            "name": "refs",
            "op": "getEntitiesByRefs",
            "args": {"entityRefs": [components[5], "api:default/nope", apis[0]]},
        },
        {"name": "facets", "op": "getEntityFacets", "args": {"facets": ["kind", "spec.type"]}},
        {
            "name": "component-facets",
            "op": "getEntityFacets",
            "args": {"facets": ["spec.type"], "filter": {"kind": "Component"}},
        },
    ]
    with running_service(service) as base_url:
        answers = run_client(base_url, plan, refs_only=True)
        entities = run_client(base_url, plan[4:5], refs_only=False)

    assert sorted(answers["all"]["items"]) == sql_refs(service)
    assert sorted(answers["components"]["items"]) == components
    queried = answers["apis"]
    assert queried["items"] == apis and queried["totalItems"] == len(apis)
    assert len(queried["pages"]) == math.ceil(len(apis) / 7)
    assert [page["hasPrevCursor"] for page in queried["pages"]][:2] == [False, True]
    names = [ref.split("/", 1)[1] for ref in answers["by-name"]["items"]]
    assert names == sorted(names, reverse=True) and len(names) == len(sql_refs(service))
    assert answers["one"] == apis[3] and answers["none"] is None
    assert answers["refs"]["items"] == [components[5], None, apis[0]]
    assert entities["one"]["metadata"]["name"] == apis[3].split("/", 1)[1]
    kinds = count_by_kind(service.runtime.database)
    facets = answers["facets"]["facets"]
    assert {f["value"]: f["count"] for f in facets["kind"]} == kinds
    assert {f["value"]: f["count"] for f in facets["spec.type"]} == sql_spec_types(service)
    component_types = answers["component-facets"]["facets"]["spec.type"]
    assert component_types == [{"value": "service", "count": len(components)}]
