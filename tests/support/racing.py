"""Run work in many threads at once, each with its own app context: real concurrent requests."""
from __future__ import annotations

import threading

from scheduler.extensions import db


def run_together(app, work, threads: int) -> list:
    """Run work(i) in `threads` threads released together; each outcome or the error it raised."""
    barrier = threading.Barrier(threads)
    outcomes: list = [None] * threads

    def worker(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[i] = work(i)
            except Exception as exc:  # noqa: BLE001 - recorded, so the test shows what went wrong
                db.session.rollback()
                outcomes[i] = f"error: {type(exc).__name__}: {exc}"
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    return outcomes
