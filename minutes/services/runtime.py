"""The process's one :class:`Runtime`: the database engine (migrated on start), the settings from the environment,
the sign-in service and the Whisper model folder; it builds :class:`Services` for whoever acts."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import Session

from minutes.pipeline.models import resolve_model
from minutes.services import admin
from minutes.services.accounts import SignInService
from minutes.services.archive_writer import sweep_staging
from minutes.services.facade import Services
from minutes.services.live import CaptionDisplay, caption_display
from minutes.services.organizations import resolve
from minutes.services.permissions import Principal
from minutes.settings import Settings, pinned
from minutes.store.engine import make_engine, migrate
from minutes.store.tables import DEFAULT_ORG


class Runtime:
    """One per process (the app, a worker, a CLI command). Thread-safe: every call opens its own session."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.base_settings = settings or Settings.from_env()
        self.pinned = pinned()  # variables set in the environment: they win over values stored in the app
        self.base_settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.base_settings.database_url, self.base_settings.database_pool_size)
        migrate(self.engine)
        sweep_staging(self.base_settings)  # archive folders left half-written by a finalize that was killed
        self.sign_in = SignInService(self.engine, self.settings_for)  # each user's organisation's
        self._model_lock = threading.Lock()
        self._model_paths: dict[Path | None, Path] = {}

    @property
    def settings(self) -> Settings:
        """The settings in force now for the default organisation (sign-in, the worker's own loop): see
        :meth:`settings_for`."""
        return self.settings_for(DEFAULT_ORG)

    def settings_for(self, org_id: int) -> Settings:
        """The settings in force now for organisation ``org_id``: the environment's, with what its administrator
        changed on the 管理 page (one small query, so a change applies to the next action of every process)."""
        with Session(self.engine) as session:
            return admin.current(session, self.base_settings, self.pinned, org_id)

    def services(self, user: Principal) -> Services:
        """Every service, acting for ``user`` with the settings in force now in their organisation."""
        settings = self.settings_for(user.org_id)
        return Services.for_user(self.engine, settings, user, base_settings=self.base_settings, fixed=self.pinned)

    def operator(self, name: str, org: str | int | None = None) -> Services:
        """Every service, acting for the operating-system user ``name`` (the CLI, the worker) within organisation
        ``org`` (a name or id; by default ``MINUTES_ORG``, or the only one there is)."""
        with Session(self.engine) as session:
            chosen = resolve(session, self.base_settings.org if org is None else org)
        return self.services(Principal.operator(name, chosen.id))

    def caption_display(self, token: str | None) -> CaptionDisplay:
        """What a 字幕表示 link shows, with no account (``minutes.services.live.caption_display``)."""
        return caption_display(self.engine, token)

    def whisper_model_path(self, override: Path | None = None, settings: Settings | None = None) -> Path:
        """The Whisper model folder (assembled and verified once per process): ``override``, or the one chosen in
        ``settings`` (an organisation's; by default the default organisation's)."""
        settings = settings or self.settings
        if override is not None:
            return resolve_model(settings.models_dir, override)
        with self._model_lock:
            if settings.whisper_model not in self._model_paths:
                self._model_paths[settings.whisper_model] = resolve_model(settings.models_dir, settings.whisper_model)
            return self._model_paths[settings.whisper_model]
