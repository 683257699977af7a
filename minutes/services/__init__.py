"""The services: the rules of the product (permissions, versions, conflicts, audit) over the store.

Pages and commands come in through one door: :class:`Runtime` (one per process) builds :class:`Services` for the
user who acts, and every service is an attribute of it (``services.transcript``, ``services.details`` …). The view
records they return are in :mod:`minutes.services.views`.
"""

from minutes.services.facade import Services
from minutes.services.organizations import DEFAULT_ORG
from minutes.services.permissions import Permission, Principal, Role, who_can
from minutes.services.runtime import Runtime

__all__ = ["DEFAULT_ORG", "Permission", "Principal", "Role", "Runtime", "Services", "who_can"]
