"""The service's Backstage-compatible read API through the real ``@backstage/catalog-client``
(``backstage/catalog-client-check/check.js``, the npm package unchanged): every answer equals
a direct count of the merged catalog in SQL.

The catalog is a real pass over a simulated OpenChoreo installation (``ingest run --embedded
--serve``). Needs ``make backstage``; ``make test`` runs it first.
"""

import json
import math
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from models.catalog_reads import count_by_kind, iter_entities
from models.database import create_database_engine
from tests.backstage.harness import (
    BACKSTAGE,
    CLIENT_CHECK,
    Ingester,
    assert_built,
    ingesting,
    ref_of,
)
from tests.support.http_service import READ_TOKEN

UNKNOWN = "component:default/no-such-component"


@pytest.fixture(scope="module", autouse=True)
def backstage_is_built() -> None:
    assert_built()


def catalog_client(base_url: str, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``plan`` through ``@backstage/catalog-client``; the results by step name."""
    result = subprocess.run(
        ["node", str(CLIENT_CHECK), "--base-url", base_url, "--plan", "-"],
        input=json.dumps(plan), capture_output=True, text=True, timeout=120, check=False,
        cwd=BACKSTAGE / "catalog-client-check", env={**os.environ, "CATALOG_TOKEN": READ_TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    return {step["name"]: step["result"] for step in document["results"]}


def sql_catalog(ingester: Ingester) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The merged catalog (ref -> entity) and its counts per kind, read with SQL."""
    engine = create_database_engine(ingester.database_url)
    try:
        entities = {ref_of(entity): entity for entity in iter_entities(engine)}
        return entities, count_by_kind(engine)
    finally:
        engine.dispose()


def step(name: str, op: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "args": args}


def refs(items: list[Any]) -> list[str | None]:
    return [None if item is None else ref_of(item) for item in items]


def test_the_catalog_client_reads_the_service_like_backstage(tmp_path: Path) -> None:
    with ingesting(tmp_path) as (_upstream, ingester):
        ingester.first_pass()
        catalog, kinds = sql_catalog(ingester)
        assert len(catalog) > 20 and len(kinds) >= 3, kinds
        components = sorted(r for r, e in catalog.items() if e["kind"] == "Component")
        component_types = Counter(
            e["spec"]["type"] for e in catalog.values() if e["kind"] == "Component"
        )
        some_type = sorted(component_types)[0]
        first, second = components[0], components[-1]

        components_only = {"kind": "Component"}
        answers = catalog_client(
            ingester.url,
            [
                step("all", "getEntities"),
                step("components", "getEntities", filter=components_only),
                step("or", "getEntities", filter=[{"kind": "Domain"}, {"kind": "System"}]),
                step("and", "getEntities", filter={"kind": "Component", "spec.type": some_type}),
                step("pages", "queryEntities", limit=7),
                step("component-pages", "queryEntities", filter=components_only, limit=5),
                step("by-ref", "getEntityByRef", entityRef=first),
                step("by-unknown-ref", "getEntityByRef", entityRef=UNKNOWN),
                step("by-refs", "getEntitiesByRefs", entityRefs=[second, UNKNOWN, first]),
                step("facets", "getEntityFacets", facets=["kind", "spec.type"]),
                step(
                    "type-facets", "getEntityFacets", facets=["spec.type"], filter=components_only
                ),
            ],
        )

    # getEntities: everything, a kind, an OR of two filters, an AND inside one.
    assert sorted(refs(answers["all"]["items"])) == sorted(catalog)  # type: ignore[type-var]
    assert sorted(refs(answers["components"]["items"])) == components  # type: ignore[type-var]
    assert len(answers["components"]["items"]) == kinds["Component"]
    assert len(answers["or"]["items"]) == kinds.get("Domain", 0) + kinds.get("System", 0)
    assert len(answers["and"]["items"]) == component_types[some_type]

    # queryEntities, following nextCursor: every entity exactly once, in full pages.
    pages = answers["pages"]
    listed = refs(pages["items"])
    assert len(listed) == len(set(listed)) == len(catalog)
    assert set(listed) == set(catalog)
    assert pages["totalItems"] == len(catalog)
    counts = [page["count"] for page in pages["pages"]]
    assert len(counts) == math.ceil(len(catalog) / 7), counts
    assert all(count == 7 for count in counts[:-1]), counts
    assert not pages["pages"][-1]["hasNextCursor"]
    assert all(page["hasPrevCursor"] for page in pages["pages"][1:])
    component_pages = answers["component-pages"]
    assert sorted(refs(component_pages["items"])) == components  # type: ignore[type-var]
    assert component_pages["totalItems"] == kinds["Component"]
    assert len(component_pages["pages"]) == math.ceil(kinds["Component"] / 5)

    # getEntityByRef / getEntitiesByRefs: the stored entity; null (in place) when unknown.
    entity = answers["by-ref"]
    assert ref_of(entity) == first and entity["spec"] == catalog[first]["spec"]
    assert entity["metadata"]["annotations"] == catalog[first]["metadata"]["annotations"]
    assert answers["by-unknown-ref"] is None
    assert refs(answers["by-refs"]["items"]) == [second, None, first]

    # getEntityFacets: counts per value, as SQL counts them.
    facets = answers["facets"]["facets"]
    assert {f["value"]: f["count"] for f in facets["kind"]} == kinds
    every_type = Counter(e["spec"]["type"] for e in catalog.values() if "type" in e.get("spec", {}))
    assert {f["value"]: f["count"] for f in facets["spec.type"]} == dict(every_type)
    component_facets = answers["type-facets"]["facets"]["spec.type"]
    assert {f["value"]: f["count"] for f in component_facets} == dict(component_types)
