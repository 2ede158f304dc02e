"""gunicorn hooks of ``hailong serve --production`` (``-c python:survey.gunicorn_hooks``)."""

from __future__ import annotations

import sys
from typing import Any

#: Seconds a worker thread may hold the GIL before another thread gets it
#: (Python's default is 0.005). A kiosk request needs well under a
#: millisecond of Python between its network and database waits, where it
#: lets go of the GIL anyway; forced switches every 5 ms only hand the GIL
#: back and forth between half-done requests (a convoy that showed as
#: 150-300 ms p99 at 700 ratings/s in bench/bench_load.py, 40-75 ms with 0.02).
#: A long computation in one thread (an export) delays the worker's other
#: threads by at most this much at a time.
SWITCH_INTERVAL = 0.02


def post_fork(_server: Any, _worker: Any) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
