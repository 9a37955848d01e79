"""``ingest event``: deliver one upstream event to a provider (enqueued, or applied at once)."""

import json
from typing import Annotated, Any

import typer

from catalog_ingest.contracts.errors import UserError
from catalog_ingest.engine.event_deltas import check_event, check_subscribed
from cli.admin_commands import DirectOption
from cli.common import ConfigOption, DatabaseOption, ProviderArgument, app, load, runtime_for
from workers import task_names
from workers.direct_events import deliver_now
from workers.task_sender import TaskSender

TopicOption = Annotated[
    str, typer.Option("--topic", help="The event's topic, e.g. openchoreo.", show_default=False)
]
PayloadOption = Annotated[
    str,
    typer.Option(
        "--payload",
        help='The event as a JSON object, e.g. \'{"kind": "component", "name": "web", '
        '"namespace": "acme", "action": "created"}\'.',
        show_default=False,
    ),
]


def parse_payload(text: str) -> dict[str, Any]:
    """The ``--payload`` option as a JSON object; one-line :class:`UserError` otherwise."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"--payload is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise UserError(f"--payload must be a JSON object, got {type(payload).__name__}")
    return payload


@app.command()
def event(
    provider: ProviderArgument,
    topic: TopicOption,
    payload: PayloadOption,
    direct: DirectOption = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Deliver an upstream event to the provider: enqueue ingest.event, or apply it now."""
    data = parse_payload(payload)
    runtime = runtime_for(config, database_url)
    try:
        binding = runtime.engine.binding(provider)
        check_event(topic, data)
        check_subscribed(binding, topic)
        if not direct:
            task_id = _enqueue(provider, topic, data, config)
            typer.echo(f"{task_names.EVENT}[{provider}] enqueued: task id {task_id}")
            return
        outcome = deliver_now(runtime.engine, runtime.lock, provider, topic, data)
    finally:
        runtime.close()
    typer.echo(json.dumps(outcome.summary()))


def _enqueue(provider: str, topic: str, payload: dict[str, Any], config: ConfigOption) -> str:
    return TaskSender(load(config)).send(task_names.EVENT, (provider, topic, payload))
