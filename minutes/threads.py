"""How the models' worker threads wait between steps: the one place that sets it, before torch or CTranslate2 start
their OpenMP runtimes (both are imported lazily, after ``minutes``).

OpenMP keeps a thread that finished its share of a step spinning on its core for a while, waiting for the next step.
That is fastest on an idle machine, and ruinous on a busy one: on 2 cores shared with the app, the worker, a live
session or a browser, a spinning thread holds a core that the thread it waits for needs. Measured on this project's
2-core machine (pyannote's CAM++ embedding of 30 short pieces, the voice stage's load; 4 other busy processes):
278.8 s spinning, 8.8 s sleeping; a batch of 16 ten-second windows (diarization's load) 55.9 s against 23.3 s; the
whole pipeline on samples_audio/council_ja.wav beside three other model runs, end-to-end RTF 3.06 against 0.98. On an
idle machine the difference was within the noise (Whisper's CTranslate2 alike either way).

So the threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the administrator set the variable. Standard library only.
"""

from __future__ import annotations

import os

ENVIRONMENT: dict[str, str] = {
    "OMP_WAIT_POLICY": "PASSIVE",  # OpenMP (torch's GNU and CTranslate2's Intel runtime): wait by sleeping
}


def configure() -> None:
    """Set each variable of ``ENVIRONMENT`` that the environment does not already set."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
