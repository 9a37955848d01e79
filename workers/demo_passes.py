"""The demo driven the production way: ticks and bursts as Celery tasks, in one process."""

from catalog_ingest.app.demo import DemoSetup, PassRunner, PassSummary, Progress
from catalog_ingest.engine.outcome import TickAction
from workers.embedded import BurstResult, EmbeddedScheduler


def celery_pass_runner(scheduler: EmbeddedScheduler, progress: Progress) -> PassRunner:
    """Run a pass through the embedded worker, reporting each burst."""

    def run_pass(summary: PassSummary) -> None:
        def on_result(result: BurstResult) -> None:
            summary.add(result)
            if result["action"] == TickAction.BURST:
                progress(
                    f"pass {summary.pass_number}: {summary.pages} pages, "
                    f"{summary.entities} entities so far"
                )
            elif result["action"] == TickAction.BACKED_OFF:
                progress(f"pass {summary.pass_number}: burst failed, backing off: {result['note']}")

        scheduler.run(
            until=lambda result: result["action"] == TickAction.PASS_COMPLETED,
            on_result=on_result,
        )

    return run_pass


__all__ = ["DemoSetup", "celery_pass_runner"]
