"""管理: the operational settings an administrator changes in the app, and the models.

Settings start from the environment (:mod:`minutes.settings`). The ones in :data:`SPECS` can also be changed on the
管理 page: the value is stored in the ``appsetting`` table, applies to every process (app, worker, CLI) from the next
action on, and is recorded in the audit trail with the old and new value. A variable set in the environment wins:
the deployment pinned it, so the page shows it as fixed and refuses to change it.

Deployment settings (data folder, database, device, compute type, threads, batch size) are not in :data:`SPECS`:
they are read once when a process starts, so the page only shows them.

Other Whisper models: copy a faster-whisper (CTranslate2) model folder into ``<data>/models/whisper/<name>/``; it
then appears in the list of models to choose from. Nothing is ever downloaded.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from diarize import verify_weights
from minutes import store
from minutes.errors import InputError, MinutesError
from minutes.pipeline.models import BASE_FOLDER_NAME, check_model_folder, describe_model, sha256_of
from minutes.services.base import Service
from minutes.services.permissions import Permission, Principal, require
from minutes.settings import Settings, pinned
from minutes.store.tables import DEFAULT_ORG

log = logging.getLogger(__name__)

BUNDLED = ""  # the stored value of whisper_model for the bundled multilingual base


@dataclass(frozen=True)
class SettingSpec:
    """One setting an administrator may change: its Settings field, variable, label and allowed values."""

    field: str
    env: str
    label: str
    kind: str  # int, float, bool, choice, model, text
    help: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for kind "choice"

    def parse(self, value: object) -> object:
        """The value checked and converted to the field's type; InputError in Japanese when it is not allowed."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise InputError(f"「{self.label}」は はい・いいえ で指定してください。", f"{self.field}={value!r}")
            return value
        if self.kind == "choice":
            allowed = [c for c, _ in self.choices]
            if value not in allowed:
                labels = "・".join(label for _, label in self.choices)
                raise InputError(f"「{self.label}」は {labels} から選んでください。", f"{self.field}={value!r}")
            return value
        if self.kind == "text":
            text = "、".join(word for word in re.split(r"[、,，\s]+", str(value or "")) if word)
            if len(text) > (self.maximum or 1000):
                raise InputError(f"「{self.label}」が長すぎます。", f"{self.field} too long")
            return text
        if self.kind == "model":
            name = str(value or "")
            if name and not re.fullmatch(r"[\w.\-]{1,100}", name):
                raise InputError("モデルのフォルダ名が正しくありません。", f"model name {name!r}")
            return name
        try:
            number = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise InputError(f"「{self.label}」には数値を入力してください。", f"{self.field}={value!r}") from None
        if isinstance(value, float) and self.kind == "int" and number != value:
            raise InputError(f"「{self.label}」には整数を入力してください。", f"{self.field}={value!r}")
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise InputError(
                f"「{self.label}」は {_number(self.minimum)}〜{_number(self.maximum)}{self.unit} で指定してください。",
                f"{self.field}={number} out of range",
            )
        return number


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "language",
        "MINUTES_LANGUAGE",
        "文字起こしの言語",
        "choice",
        "新しく登録する録音の言語。日本語の会議では「日本語」のままにしてください。",
        choices=(("ja", "日本語"), ("auto", "自動判定")),
    ),
    SettingSpec(
        "whisper_model",
        "MINUTES_WHISPER_MODEL",
        "文字起こしモデル",
        "model",
        "次に始まる文字起こしから使われます。",
    ),
    SettingSpec(
        "fillers",
        "MINUTES_FILLERS",
        "ケバ取りで除く言葉",
        "text",
        "新しい文字起こしの下書き（整文）から除くつなぎ言葉。「、」で区切ります。素起こしはそのまま残ります。",
        maximum=1000,
    ),
    SettingSpec(
        "number_style",
        "MINUTES_NUMBER_STYLE",
        "整文の数字の書き方",
        "choice",
        "新しい文字起こしの下書き（整文）での数字の書き方。位取りは金額や人数など（年・号・時刻には付けません）。"
        "素起こしはそのまま残ります。",
        choices=(
            ("full", "全角・位取りあり（令和６年、８，５００万円）"),
            ("full_plain", "全角・位取りなし（８５００万円）"),
            ("half", "半角・位取りあり（令和6年、8,500万円）"),
            ("half_plain", "半角・位取りなし（8500万円）"),
            ("asis", "認識のまま"),
        ),
    ),
    SettingSpec(
        "max_upload_mb", "MINUTES_MAX_UPLOAD_MB", "録音の最大サイズ", "int", unit=" MB", minimum=1, maximum=102_400
    ),
    SettingSpec(
        "max_duration_hours",
        "MINUTES_MAX_DURATION_HOURS",
        "録音の最長時間",
        "float",
        unit=" 時間",
        minimum=0.1,
        maximum=24,
    ),
    SettingSpec(
        "max_material_mb", "MINUTES_MAX_MATERIAL_MB", "資料の最大サイズ", "int", unit=" MB", minimum=1, maximum=4096
    ),
    SettingSpec(
        "archive_recording",
        "MINUTES_ARCHIVE_RECORDING",
        "確定時の保存に録音を含める",
        "bool",
        "含めると、保存フォルダが録音の分だけ大きくなります。",
    ),
    SettingSpec(
        "lockout_attempts",
        "MINUTES_LOCKOUT_ATTEMPTS",
        "ロックまでのログイン失敗回数",
        "int",
        unit=" 回",
        minimum=3,
        maximum=20,
    ),
    SettingSpec(
        "lockout_minutes", "MINUTES_LOCKOUT_MINUTES", "ロックの時間", "int", unit=" 分", minimum=1, maximum=1440
    ),
    SettingSpec(
        "session_idle_minutes",
        "MINUTES_SESSION_IDLE_MINUTES",
        "操作がないときに自動でログアウトするまで",
        "int",
        unit=" 分",
        minimum=5,
        maximum=480,
    ),
    SettingSpec(
        "session_max_hours",
        "MINUTES_SESSION_MAX_HOURS",
        "ログインの有効時間（最長）",
        "float",
        unit=" 時間",
        minimum=1,
        maximum=72,
    ),
)
SPEC_BY_FIELD = {spec.field: spec for spec in SPECS}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def model_folder(settings: Settings, name: str) -> Path:
    return settings.whisper_models_dir / name


def effective(base: Settings, stored: dict[str, object], fixed: frozenset[str]) -> Settings:
    """``base`` with the stored values of the settings that the environment does not pin. A stored value that is no
    longer allowed (a model folder removed, a range narrowed) is ignored, with a warning in the log."""
    changes: dict[str, object] = {}
    for spec in SPECS:
        if spec.field not in stored or spec.env in fixed:
            continue
        try:
            value = spec.parse(stored[spec.field])
        except MinutesError:
            log.warning("ignoring the stored setting %s: no longer allowed", spec.field)
            continue
        if spec.kind == "model":
            value = model_folder(base, str(value)) if value else None
        changes[spec.field] = value
    return dataclasses.replace(base, **changes) if changes else base


def current(
    session: Session, base: Settings | None = None, fixed: frozenset[str] | None = None, org_id: int = DEFAULT_ORG
) -> Settings:
    """The settings in force: ``base`` (default: the environment) with the values stored by an administrator."""
    return effective(
        base or Settings.from_env(), store.app_settings(session, org_id=org_id), pinned() if fixed is None else fixed
    )


@dataclass(frozen=True)
class SettingView:
    spec: SettingSpec
    value: object  # the value in force (for "model": the folder name, "" = bundled)
    source: str  # 環境変数, 管理画面, 既定

    @property
    def fixed(self) -> bool:
        return self.source == "環境変数"


@dataclass(frozen=True)
class ModelChoice:
    name: str  # the stored value: "" for the bundled model, else the folder name under models/whisper
    label: str
    path: Path | None
    problem: str = ""  # why it cannot be used ("" when usable)


@dataclass(frozen=True)
class ModelReport:
    """The result of checking every model file (the 検査 button)."""

    whisper_name: str
    whisper_path: Path
    whisper_size: int
    whisper_sha256: str
    whisper_problem: str
    diarization: tuple[tuple[str, Path, int, str, bool], ...]  # name, path, size, sha256, matches the expected hash
    diarization_problem: str

    @property
    def ok(self) -> bool:
        return not self.whisper_problem and not self.diarization_problem and all(f[4] for f in self.diarization)


class AdminService(Service):
    """Settings and models, for administrators (``MANAGE_SETTINGS``). ``base`` and ``fixed``: the settings from the
    environment and the variables the environment pins (read when the process started)."""

    def __init__(self, engine, settings: Settings, user: Principal, *, base: Settings, fixed: frozenset[str]) -> None:
        super().__init__(engine, settings, user)
        self.base = base
        self.fixed = fixed

    def current_settings(self) -> Settings:
        """The settings in force now (read again: a change made here applies at once)."""
        with Session(self.engine) as session:
            return current(session, self.base, self.fixed, self.user.org_id)

    def views(self) -> list[SettingView]:
        require(self.user, Permission.MANAGE_SETTINGS)
        with Session(self.engine) as session:
            stored = store.app_settings(session, org_id=self.user.org_id)
            settings = current(session, self.base, self.fixed, self.user.org_id)
        views = []
        for spec in SPECS:
            model = spec.kind == "model"
            value = self._model_name(settings.whisper_model) if model else getattr(settings, spec.field)
            if spec.env in self.fixed:
                source = "環境変数"
            elif spec.field in stored and getattr(settings, spec.field) != getattr(self.base, spec.field):
                source = "管理画面"
            else:
                source = "既定"
            views.append(SettingView(spec, value, source))
        return views

    def update(self, changes: dict[str, object]) -> list[str]:
        """Store the changed settings (all or none); returns the labels of those that changed. Each change is one
        audit event with the old and new value."""
        require(self.user, Permission.MANAGE_SETTINGS)
        actor = self.actor
        with Session(self.engine) as session:
            before = current(session, self.base, self.fixed, self.user.org_id)
            done: list[str] = []
            for field, raw in changes.items():
                spec = SPEC_BY_FIELD.get(field)
                if spec is None:
                    raise InputError("この設定は画面から変更できません。", f"unknown setting {field}")
                value = spec.parse(raw)
                old = self._model_name(before.whisper_model) if spec.kind == "model" else getattr(before, field)
                if value == old:
                    continue
                if spec.env in self.fixed:
                    raise InputError(
                        f"「{spec.label}」は環境変数 {spec.env} で指定されているため、画面からは変更できません。",
                        f"{spec.env} pinned",
                    )
                if spec.kind == "model":
                    self._check_model(str(value))
                store.put_app_setting(session, key=field, value=value, updated_by=actor, org_id=self.user.org_id)
                store.audit.record(
                    session,
                    actor=actor,
                    action="setting_update",
                    target_type="setting",
                    target_id=field,
                    before={field: _jsonable(old)},
                    after={field: _jsonable(value)},
                )
                done.append(spec.label)
            session.commit()
        return done

    def reset(self, field: str) -> None:
        """Forget the stored value: the environment's value or the default applies again."""
        require(self.user, Permission.MANAGE_SETTINGS)
        spec = SPEC_BY_FIELD[field]
        with Session(self.engine) as session:
            stored = store.app_settings(session, org_id=self.user.org_id)
            if field not in stored:
                return
            store.delete_app_setting(session, key=field, org_id=self.user.org_id)
            store.audit.record(
                session,
                actor=self.actor,
                action="setting_reset",
                target_type="setting",
                target_id=spec.field,
                before={field: _jsonable(stored[field])},
            )
            session.commit()

    # ------------------------------------------------------------ models

    def model_choices(self) -> list[ModelChoice]:
        """The bundled base model and every folder under ``<data>/models/whisper``, with why one is unusable."""
        require(self.user, Permission.MANAGE_SETTINGS)
        choices = [ModelChoice(BUNDLED, "base（多言語・同梱）", self.base.models_dir / BASE_FOLDER_NAME)]
        folder = self.base.whisper_models_dir
        for candidate in sorted(folder.iterdir()) if folder.is_dir() else ():
            if not candidate.is_dir() or candidate.name.startswith("."):
                continue
            try:
                check_model_folder(candidate)
                problem = ""
            except MinutesError as error:
                problem = error.message
            choices.append(ModelChoice(candidate.name, candidate.name, candidate, problem))
        return choices

    def check_models(self) -> ModelReport:
        """Verify the Whisper model in use and the diarization weights (hashes every file: seconds)."""
        require(self.user, Permission.MANAGE_SETTINGS)
        settings = self.current_settings()
        try:
            info = describe_model(settings.models_dir, settings.whisper_model)
            sha = info.sha256 or sha256_of(info.path / "model.bin")
            whisper = (info.name, info.path, info.size_bytes, sha, "")
        except MinutesError as error:
            path = settings.whisper_model or settings.models_dir / BASE_FOLDER_NAME
            whisper = (self._model_name(settings.whisper_model) or "base", path, 0, "", error.message)
        try:
            report = verify_weights()
            files = tuple((f.name, f.path, f.size_bytes, f.sha256, f.verified) for f in report.files)
            problem = ""
        except MinutesError as error:
            files, problem = (), error.message
        return ModelReport(*whisper, diarization=files, diarization_problem=problem)

    def _check_model(self, name: str) -> None:
        if not name:
            return
        choice = next((c for c in self.model_choices() if c.name == name), None)
        if choice is None:
            folder = self.base.whisper_models_dir
            raise InputError(f"モデルのフォルダ「{name}」が {folder} にありません。", f"no model {name}")
        if choice.problem:
            raise InputError(choice.problem, f"model {name} unusable")

    def _model_name(self, path: Path | None) -> str:
        if path is None:
            return BUNDLED
        folder = self.base.whisper_models_dir
        return path.name if path.parent == folder else str(path)


def _jsonable(value: object) -> object:
    return str(value) if isinstance(value, Path) else value
