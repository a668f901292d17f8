"""`--find-owner`: list a Jenkins' users with an administrator's credential.

Jenkins looks a token up per user only, so a 401 for one user proves just "not this user's
token". Trying the token for every user Jenkins knows turns that into a proof: live as its real
owner, or dead for everyone. The list comes from ``/asynchPeople/api/json`` (``/people/api/json``
on Jenkins versions without it), read with the administrator's credential, which is sent only
to a Jenkins the user allowed with ``--jenkins-url``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from scanner.jenkins.client import HttpSettings, basic_header, request

PEOPLE_PATHS = ("asynchPeople/api/json?tree=users[user[id]]", "people/api/json?tree=users[user[id]]")
MAX_USERS = 10_000  # a who-am-i per user and token: past this, ask for a narrower check
USER_ID_MAX = 256


@dataclass
class Roster:
    """The users of one Jenkins root, or why they could not be listed."""

    url: str
    users: list[str] = field(default_factory=list)
    problem: str | None = None


def list_users(client: httpx.Client, url: str, admin_user: str, admin_token: str, http: HttpSettings) -> Roster:
    """Every user id the Jenkins at ``url`` knows, read as ``admin_user``."""
    auth = basic_header(admin_user, admin_token)
    problem = "no user listing answered"
    for path in PEOPLE_PATHS:
        answer = request(client, "GET", url.rstrip("/") + "/" + path, http, auth=auth, root=url)
        if answer.error:
            return Roster(url, problem=f"listing users failed: {answer.error}")
        if answer.status == 404:
            problem = "no user listing here (/asynchPeople and /people answered 404)"
            continue
        if answer.status == 401:
            return Roster(url, problem="listing users failed: the --admin-user credentials were rejected (401)")
        if answer.status != 200:
            return Roster(url, problem=f"listing users failed: status {answer.status} (does --admin-user have "
                                       "Overall/Read?)")
        return _parse(url, answer.json())
    return Roster(url, problem=problem)


def _parse(url: str, data: dict | None) -> Roster:
    entries = data.get("users") if data else None
    if not isinstance(entries, list):
        return Roster(url, problem="listing users failed: not a Jenkins people answer")
    if len(entries) > MAX_USERS:
        return Roster(url, problem=f"{len(entries)} users: more than the {MAX_USERS} --find-owner tries")
    users: dict[str, None] = {}
    for entry in entries:
        user = entry.get("user") if isinstance(entry, dict) else None
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not user_id or len(user_id) > USER_ID_MAX or not user_id.isprintable():
            return Roster(url, problem="listing users failed: an entry without a readable user id")
        # exact ids: a realm may be case-sensitive (LDAP, Active Directory), where Alice and alice are two users
        users.setdefault(user_id, None)
    if not users:  # Jenkins lists at least the administrator asking: an empty listing is not its answer
        return Roster(url, problem="listing users failed: the listing names no user")
    return Roster(url, list(users))
