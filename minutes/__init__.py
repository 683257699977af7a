"""minutes: offline meeting minutes (会議録) for Japanese municipalities.

Layers, each a package (see ARCHITECTURE.md): ``pipeline`` (decode → transcribe → guards → assign, with ``diarize``
beside it) → ``store`` (tables, migrations, all SQL) → ``services`` (rules: permissions, versions, audit) →
``cli`` and the Streamlit pages in ``ui``. Shared records and settings: ``records``, ``progress``, ``settings``,
``errors``, ``clock``.

Importing the package keeps the process offline (``minutes.offline``): no model hub, no telemetry, whoever imports it;
and it makes the models' OpenMP threads sleep rather than spin while they wait (``minutes.threads``), before torch or
CTranslate2 is loaded.
"""

from minutes import offline, threads

offline.enforce()
threads.configure()
