"""The merge rule on plain records: leaf by leaf by priority, annotations and labels key by key,
tags and links unioned, other lists whole, ``replace`` sources, ties, provenance, validity."""

from typing import Any

from catalog_ingest.aggregation.merge import merge_records, ranked
from catalog_ingest.aggregation.provenance import provenance, render
from catalog_ingest.aggregation.resolution import MAX_MERGED_BYTES, Previous, resolve
from catalog_ingest.contracts.catalog import SourceRecord
from tests.aggregation.merge_support import entity, hash_of, ref


def record(source: str, priority: int, body: dict[str, Any], replace: bool = False) -> SourceRecord:
    return SourceRecord(source, priority, body, hash_of(body), replace)


def test_every_leaf_comes_from_the_highest_priority_source_that_has_it() -> None:
    high = entity("a", annotations={"x": "high"}, spec={"owner": "high-team"})
    low = entity(
        "a",
        annotations={"x": "low", "y": "low"},
        labels={"tier": "1"},
        spec={"owner": "low-team", "type": "service", "lifecycle": "production"},
    )
    merged = merge_records([record("low", 1, low), record("high", 5, high)])
    assert merged["metadata"]["annotations"] == {"x": "high", "y": "low"}
    assert merged["metadata"]["labels"] == {"tier": "1"}
    assert merged["spec"] == {"owner": "high-team", "type": "service", "lifecycle": "production"}


def test_tags_and_links_are_unions_higher_priority_first_without_duplicates() -> None:
    link_a, link_b = {"url": "https://a", "title": "A"}, {"url": "https://b"}
    high = entity("a", tags=["java", "web"], links=[link_a])
    low = entity("a", tags=["web", "db"], links=[link_b, link_a])
    merged = merge_records([record("low", 0, low), record("high", 1, high)])
    assert merged["metadata"]["tags"] == ["java", "web", "db"]
    assert merged["metadata"]["links"] == [link_a, link_b]


def test_other_lists_are_taken_whole_from_the_highest_priority_source() -> None:
    high = entity("a", spec={"providesApis": ["x"]})
    low = entity("a", spec={"providesApis": ["y", "z"], "type": "service"})
    merged = merge_records([record("low", 0, low), record("high", 1, high)])
    assert merged["spec"] == {"providesApis": ["x"], "type": "service"}


def test_ties_in_priority_go_to_the_source_name_first_in_order() -> None:
    records = [
        record("bravo", 3, entity("a", title="B")),
        record("alpha", 3, entity("a", title="A")),
    ]
    assert [r.source for r in ranked(records)] == ["alpha", "bravo"]
    assert merge_records(records)["metadata"]["title"] == "A"


def test_a_replace_source_counts_whole_when_first_and_not_at_all_otherwise() -> None:
    whole = record("whole", 5, entity("a", title="whole"), replace=True)
    deep = record("deep", 1, entity("a", description="from deep"))
    assert merge_records([whole, deep]) == whole.body
    below = record("whole", 0, entity("a", description="from whole"), replace=True)
    first = record("deep", 1, entity("a", title="deep"))
    assert "description" not in merge_records([below, first])["metadata"]


def test_provenance_names_the_source_of_every_leaf_and_union_item() -> None:
    high = record("high", 2, entity("a", annotations={"x": "1"}, tags=["t1"]))
    low = record("low", 1, entity("a", annotations={"y": "2"}, tags=["t1", "t2"]))
    merged = merge_records([high, low])
    fields = dict(provenance(merged, [high, low]))
    assert fields["metadata.annotations.x"] == "high"
    assert fields["metadata.annotations.y"] == "low"
    assert fields["metadata.tags[0]"] == "high"
    assert fields["metadata.tags[1]"] == "low"
    assert fields["spec.owner"] == "high"
    assert render(("metadata", "annotations", "backstage.io/x")) == (
        'metadata.annotations["backstage.io/x"]'
    )


def test_one_contributing_record_is_stored_as_a_pointer_without_merging() -> None:
    only = record("only", 0, entity("a"))
    stored = resolve(ref("a"), [only], None)
    assert stored is not None
    assert (stored.source, stored.content_hash, stored.body_json) == (
        "only",
        only.content_hash,
        None,
    )
    assert resolve(ref("a"), [], None) is None


def test_a_merge_that_breaks_validity_keeps_the_previous_merged_entity() -> None:
    high = record("high", 2, entity("a", spec="managed elsewhere"))
    low = record("low", 1, entity("a"))
    previous = Previous("high", "f" * 64, has_body=True)
    stored = resolve(ref("a"), [high, low], previous)
    assert stored is not None and stored.conflict is not None
    assert "spec must be an object" in stored.conflict
    assert stored.content_hash == previous.content_hash
    first_time = resolve(ref("a"), [high, low], None)
    assert first_time is not None and first_time.conflict is not None
    assert (first_time.source, first_time.content_hash) == ("high", high.content_hash)


def test_a_merged_entity_over_the_size_limit_is_a_conflict() -> None:
    half = "x" * (MAX_MERGED_BYTES // 2 + 10)
    high = record("high", 2, entity("a", annotations={"big-a": half}))
    low = record("low", 1, entity("a", annotations={"big-b": half}))
    stored = resolve(ref("a"), [high, low], None)
    assert stored is not None and stored.conflict is not None and "bytes" in stored.conflict
