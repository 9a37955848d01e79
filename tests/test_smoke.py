from catalog_ingest.binding import ProviderBinding
from catalog_ingest.clock import ManualClock
from catalog_ingest.engine import Engine
from catalog_ingest.options import ProviderOptions
from catalog_ingest.synthetic import SyntheticProvider, SyntheticSource
from models.repository import SqlRepository


def test_smoke(repository: SqlRepository, clock: ManualClock) -> None:
    source = SyntheticSource(size=1200)
    provider = SyntheticProvider("synth", source, page_size=100)
    engine = Engine(repository, {"synth": ProviderBinding(provider, ProviderOptions(burst_length=300))}, clock)
    outcomes = []
    for _ in range(10):
        outcome = engine.tick("synth")
        outcomes.append(outcome)
        print(outcome)
        if outcome.action == "pass completed":
            break
    assert outcomes[-1].action == "pass completed"
