"""How deferred items are grouped into child tasks, and what Flower shows of them."""

from catalog_ingest.contracts.storage import DeferredItem
from workers.dispatch import group_labels


def item(org: str, project: str, component: str) -> DeferredItem:
    labels = {"organization": org, "project": project, "component": component}
    return DeferredItem(f"{org}/{project}/{component}", {}, labels)


def test_a_group_shows_shared_labels_once_and_the_others_as_lists_in_order() -> None:
    group = [
        item("acme", "shop", "orders"),
        item("acme", "shop", "cart"),
        item("acme", "web", "ui"),
    ]
    assert group_labels(group) == {
        "organization": "acme",
        "project": ["shop", "web"],
        "component": ["orders", "cart", "ui"],
    }


def test_a_group_of_one_shows_plain_labels() -> None:
    assert group_labels([item("acme", "shop", "orders")]) == {
        "organization": "acme",
        "project": "shop",
        "component": "orders",
    }
