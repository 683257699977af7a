"""minutes: offline meeting minutes (会議録) for Japanese municipalities.

Layers, each a package (see ARCHITECTURE.md): ``pipeline`` (decode → transcribe → guards → assign, with ``diarize``
beside it) → ``store`` (tables, migrations, all SQL) → ``services`` (rules: permissions, versions, audit) →
``cli`` and the Streamlit pages in ``ui``. Shared records and settings: ``records``, ``progress``, ``settings``,
``errors``, ``clock``.

Importing the package keeps the process offline (``minutes.offline``): no model hub, no telemetry, whoever imports it.
"""

from minutes import offline

offline.enforce()
