"""One way into the services: :class:`Services`, built for the user who acts.

    services = Services.for_user(engine, settings, user)      # the signed-in user (pages)
    services = runtime.services(user)                          # the same, from the process's Runtime
    services = runtime.operator("tanaka")                      # the operating-system user (CLI, worker)
    services.transcript.edit_text(utterance_id, text="…", expected_version=3)

Every service acts for ``services.user``: its permissions are checked in each method and its name is recorded with
each change, so no page or command passes an actor beside it, and the database engine never reaches a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cached_property

from sqlalchemy.engine import Engine

from minutes.services.accounts import AccountsService
from minutes.services.admin import AdminService
from minutes.services.agenda import AgendaService
from minutes.services.archive import ArchiveService
from minutes.services.audit import AuditService
from minutes.services.corrections import CorrectionsService
from minutes.services.details import MeetingDetailsService
from minutes.services.dictionary import DictionaryService
from minutes.services.documents import ExportService
from minutes.services.live import LiveService
from minutes.services.materials import MaterialService
from minutes.services.meetings import MeetingsService
from minutes.services.operations import OperationsService
from minutes.services.organizations import OrganizationsService
from minutes.services.people import PeopleService
from minutes.services.permissions import Principal
from minutes.services.playback import PlaybackService
from minutes.services.search import SearchService
from minutes.services.speakers import SpeakersService
from minutes.services.transcript import TranscriptService
from minutes.services.voices import VoiceService
from minutes.settings import Settings, pinned
from minutes.store.tables import utcnow


class Services:
    """Every service of the product, acting for one user. Light to make (per page rerun or command); each service
    is built on first use."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        user: Principal,
        *,
        base_settings: Settings | None = None,
        fixed: frozenset[str] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self.settings = settings
        self.user = user
        self._base = base_settings or settings
        self._fixed = pinned() if fixed is None else fixed
        self._clock = clock

    @classmethod
    def for_user(cls, engine: Engine, settings: Settings, user: Principal, **options) -> Services:
        return cls(engine, settings, user, **options)

    def _make(self, kind):
        return kind(self._engine, self.settings, self.user)

    @cached_property
    def meetings(self) -> MeetingsService:
        return self._make(MeetingsService)

    @cached_property
    def details(self) -> MeetingDetailsService:
        return self._make(MeetingDetailsService)

    @cached_property
    def transcript(self) -> TranscriptService:
        return self._make(TranscriptService)

    @cached_property
    def speakers(self) -> SpeakersService:
        return self._make(SpeakersService)

    @cached_property
    def voices(self) -> VoiceService:
        return self._make(VoiceService)

    @cached_property
    def people(self) -> PeopleService:
        """The assembly's roster (名簿)."""
        return self._make(PeopleService)

    @cached_property
    def live(self) -> LiveService:
        """Meetings transcribed live (開会・休憩・再開・散会), their marks and 字幕表示 links."""
        return self._make(LiveService)

    @cached_property
    def agenda(self) -> AgendaService:
        return self._make(AgendaService)

    @cached_property
    def materials(self) -> MaterialService:
        return self._make(MaterialService)

    @cached_property
    def playback(self) -> PlaybackService:
        return self._make(PlaybackService)

    @cached_property
    def exports(self) -> ExportService:
        return self._make(ExportService)

    @cached_property
    def archive(self) -> ArchiveService:
        return self._make(ArchiveService)

    @cached_property
    def search(self) -> SearchService:
        return self._make(SearchService)

    @cached_property
    def accounts(self) -> AccountsService:
        return AccountsService(self._engine, self.settings, self.user, clock=self._clock)

    @cached_property
    def dictionary(self) -> DictionaryService:
        return self._make(DictionaryService)

    @cached_property
    def corrections(self) -> CorrectionsService:
        return self._make(CorrectionsService)

    @cached_property
    def operations(self) -> OperationsService:
        """Jobs and the worker processes' health (管理)."""
        return self._make(OperationsService)

    @cached_property
    def audit(self) -> AuditService:
        return self._make(AuditService)

    @cached_property
    def organizations(self) -> OrganizationsService:
        """The installation's organisations (団体): the installation administrator's."""
        return self._make(OrganizationsService)

    @cached_property
    def admin(self) -> AdminService:
        return AdminService(self._engine, self.settings, self.user, base=self._base, fixed=self._fixed)
