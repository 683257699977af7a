"""The one place that keeps the process offline and private.

``enforce()`` must run before anything imports huggingface_hub or pyannote (they read these variables once, at
import): the CLI, the Streamlit app, the benchmarks, the tests and ``diarize.load_pipeline`` call it first. Standard
library only, so importing it costs nothing; calling it again changes nothing.
"""

from __future__ import annotations

import os

ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub: never contact the hub, use local files only
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub: no usage telemetry
    "PYANNOTE_METRICS_ENABLED": "0",  # pyannote.audio 4: no usage metrics
}


def enforce() -> None:
    """Set the offline and no-telemetry variables of ``ENVIRONMENT`` in ``os.environ`` (overriding any other value)."""
    os.environ.update(ENVIRONMENT)
