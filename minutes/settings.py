"""Settings, read from environment variables. Every variable is documented in the README (a test checks it).

An administrator can change the operational ones in the app (管理 page, :mod:`minutes.services.admin`); a value
changed there is stored in the database and applies to every process. A variable set in the environment wins over
the stored value: the deployment pins it, and the page shows it as fixed. The data folder's layout (recordings,
materials, archive, caches, models, work files) is known here only: ask ``Settings``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from minutes.errors import InputError

# name -> (default shown in the README, description). The README's settings table must list every name here.
ENVIRONMENT = {
    "MINUTES_DATA_DIR": "Folder for the database, uploaded recordings, work files and assembled models.",
    "MINUTES_DATABASE_URL": "SQLAlchemy database URL; overrides the SQLite database inside MINUTES_DATA_DIR.",
    "MINUTES_DATABASE_POOL_SIZE": "Database connections one process (the app, a worker) keeps at most.",
    "MINUTES_WHISPER_MODEL": "Path of a faster-whisper model folder to use instead of the bundled multilingual base.",
    "MINUTES_DEVICE": "cpu, cuda or auto (cuda when a GPU is usable).",
    "MINUTES_COMPUTE_TYPE": "CTranslate2 compute type; default int8 on cpu, float16 on cuda.",
    "MINUTES_CPU_THREADS": "Threads for transcription on the CPU; 0 means all cores.",
    "MINUTES_BATCH_SIZE": "Batched faster-whisper batch size; 0 = sequential; auto = 0 on cpu, 8 on cuda.",
    "MINUTES_LANGUAGE": "Default transcript language (ja); 'auto' detects it.",
    "MINUTES_MAX_UPLOAD_MB": "Largest recording accepted, in megabytes.",
    "MINUTES_MAX_DURATION_HOURS": "Longest recording accepted, in hours.",
    "MINUTES_JOB_HEARTBEAT_TIMEOUT": "Seconds without a heartbeat after which a running job counts as abandoned.",
    "MINUTES_MAX_MATERIAL_MB": "Largest material (資料) accepted, in megabytes.",
    "MINUTES_ARCHIVE_RECORDING": "1 copies the recording into each archive package.",
    "MINUTES_LOCKOUT_ATTEMPTS": "Failed sign-ins in a row after which an account is locked.",
    "MINUTES_LOCKOUT_MINUTES": "Minutes an account stays locked after too many failed sign-ins.",
    "MINUTES_SESSION_IDLE_MINUTES": "Minutes without activity after which a signed-in session ends.",
    "MINUTES_SESSION_MAX_HOURS": "Hours after sign-in after which a session ends whatever the activity.",
    "MINUTES_FILLERS": "The ケバ取り words removed from the draft (separated by 、 commas or spaces).",
    "MINUTES_NUMBER_STYLE": "How the 整文 writes numbers: full, full_plain, half, half_plain or asis.",
    "MINUTES_APP_WORKER": "1: the app runs jobs in a thread of its own process; 0: a separate `minutes worker` does.",
    "MINUTES_QUEUE_URL": "Redis URL of the job queue (redis://host:6379/0): jobs run on `minutes worker` processes "
    "through Celery instead of the app's own worker.",
    "MINUTES_QUEUE_GPU_MINUTES": "With the queue: recordings longer than this many minutes go to the gpu queue while a "
    "gpu worker is up; 0 sends none there.",
    "MINUTES_QUEUE_VISIBILITY_TIMEOUT": "With the queue: seconds after which Redis hands an unacknowledged message to "
    "another worker.",
    "MINUTES_ORG": "The organisation (団体, name or id) the command line acts within; needed when there are several.",
}


# The fillers (ケバ取り) removed from drafts unless an administrator sets others (minutes.pipeline.cleanup).
DEFAULT_FILLERS = "えー、え、えーと、えっと、ええと、あのー、あのう、あの、まあ、その、うーん、んー"
# How the 整文 writes numbers (minutes.pipeline.numbers): full-width digits, amounts grouped by thousands.
NUMBER_STYLES = ("full", "full_plain", "half", "half_plain", "asis")
DEFAULT_NUMBER_STYLE = "full"


def pinned() -> frozenset[str]:
    """The settings variables set (non-empty) in this process's environment."""
    return frozenset(name for name in ENVIRONMENT if os.environ.get(name, "").strip())


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise InputError(
            f"設定 {name} の値「{raw}」は整数ではありません。", f"{name}={raw!r} is not an integer"
        ) from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise InputError(f"設定 {name} は 1 以上の整数にしてください（今は {value}）。", f"{name}={value} < 1")
    return value


def _float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise InputError(
            f"設定 {name} の値「{raw}」は数値ではありません。", f"{name}={raw!r} is not a number"
        ) from None


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _env(name, default)
    if value not in allowed:
        raise InputError(
            f"設定 {name} の値「{value}」は使えません（{'、'.join(allowed)} のどれか）。", f"{name}={value!r}"
        )
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    database_pool_size: int = 20  # connections one process keeps (minutes.store.engine.make_engine)
    whisper_model: Path | None = None
    device: str = "auto"
    compute_type: str = "default"
    cpu_threads: int = 0
    batch_size: int | None = None  # None: automatic (see resolved_batch_size)
    language: str = "ja"
    max_upload_mb: int = 4096
    max_duration_hours: float = 8.0
    job_heartbeat_timeout: float = 60.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    session_idle_minutes: float = 30.0
    session_max_hours: float = 12.0
    app_worker: bool = True  # run.sh sets 0 and starts `minutes worker` as its own, lower-priority process
    max_material_mb: int = 200
    archive_recording: bool = False
    fillers: str = DEFAULT_FILLERS  # the ケバ取り words (minutes.pipeline.cleanup.parse_fillers reads them)
    queue_url: str = ""  # empty: the job table is polled by the app's thread or `minutes worker` (no broker)
    queue_gpu_minutes: float = 30.0
    queue_visibility_timeout: float = 3600.0
    org: str = ""  # the organisation the command line acts within ("": the only one; minutes.services.organizations)
    number_style: str = DEFAULT_NUMBER_STYLE  # the 整文's numbers (minutes.pipeline.numbers)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("MINUTES_DATA_DIR", "data")).expanduser().resolve()
        model = _env("MINUTES_WHISPER_MODEL", "")
        return cls(
            data_dir=data_dir,
            database_url=_env("MINUTES_DATABASE_URL", f"sqlite:///{data_dir / 'minutes.db'}"),
            database_pool_size=_positive("MINUTES_DATABASE_POOL_SIZE", 20),
            whisper_model=Path(model).expanduser().resolve() if model else None,
            device=_env("MINUTES_DEVICE", "auto"),
            compute_type=_env("MINUTES_COMPUTE_TYPE", "default"),
            cpu_threads=_int("MINUTES_CPU_THREADS", 0),
            batch_size=None if _env("MINUTES_BATCH_SIZE", "auto") == "auto" else _int("MINUTES_BATCH_SIZE", 0),
            language=_env("MINUTES_LANGUAGE", "ja"),
            max_upload_mb=_int("MINUTES_MAX_UPLOAD_MB", 4096),
            max_duration_hours=_float("MINUTES_MAX_DURATION_HOURS", 8.0),
            job_heartbeat_timeout=_float("MINUTES_JOB_HEARTBEAT_TIMEOUT", 60.0),
            lockout_attempts=_int("MINUTES_LOCKOUT_ATTEMPTS", 5),
            lockout_minutes=_float("MINUTES_LOCKOUT_MINUTES", 15.0),
            session_idle_minutes=_float("MINUTES_SESSION_IDLE_MINUTES", 30.0),
            session_max_hours=_float("MINUTES_SESSION_MAX_HOURS", 12.0),
            app_worker=_env("MINUTES_APP_WORKER", "1").lower() not in ("0", "false", "no", "off"),
            max_material_mb=_int("MINUTES_MAX_MATERIAL_MB", 200),
            archive_recording=_env("MINUTES_ARCHIVE_RECORDING", "0").lower() in ("1", "true", "yes", "on"),
            fillers=_env("MINUTES_FILLERS", DEFAULT_FILLERS),
            queue_url=_env("MINUTES_QUEUE_URL", ""),
            queue_gpu_minutes=_float("MINUTES_QUEUE_GPU_MINUTES", 30.0),
            queue_visibility_timeout=_float("MINUTES_QUEUE_VISIBILITY_TIMEOUT", 3600.0),
            org=_env("MINUTES_ORG", ""),
            number_style=_choice("MINUTES_NUMBER_STYLE", DEFAULT_NUMBER_STYLE, NUMBER_STYLES),
        )

    # The data folder's layout: every other module asks here.

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def materials_dir(self) -> Path:
        return self.data_dir / "materials"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def playback_dir(self) -> Path:
        """Short WAV pieces cut for the players (a cache, safe to delete)."""
        return self.data_dir / "playback"

    @property
    def previews_dir(self) -> Path:
        """Drawn pages of materials (a cache, safe to delete)."""
        return self.data_dir / "previews"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def whisper_models_dir(self) -> Path:
        """Where an administrator copies other faster-whisper model folders to choose from (one folder each)."""
        return self.models_dir / "whisper"

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 8 if self.resolved_device() == "cuda" else 0

    def resolved_compute_type(self) -> str:
        if self.compute_type != "default":
            return self.compute_type
        return "float16" if self.resolved_device() == "cuda" else "int8"
