"""Who may do what in the console: Dynamic Chat's roles as permissions.

admin: everything (users, integrations, meetings, routing); designer:
dialogues and the widget's configuration; viewer: reads only. Every API
route names the permission it needs; `allowed` is the one place that
decides.
"""
from __future__ import annotations

from typing import Dict, FrozenSet

ROLES = ("admin", "designer", "viewer")

READ = "read"                  # every tab, read only
DIALOGUES = "dialogues"        # edit, publish, pause
CONFIGURATION = "configuration"  # the widget's look, domains, blocked emails
MEETINGS = "meetings"          # cancel, reassign
INTEGRATIONS = "integrations"  # Marketo, calendars, agents
PEOPLE = "people"              # requests for a person: mark handled
USERS = "users"                # console users

PERMISSIONS: Dict[str, FrozenSet[str]] = {
    "admin": frozenset({READ, DIALOGUES, CONFIGURATION, MEETINGS, INTEGRATIONS, PEOPLE, USERS}),
    "designer": frozenset({READ, DIALOGUES, CONFIGURATION}),
    "viewer": frozenset({READ}),
}


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
