"""The JENKINS_HOME inventory (``scan --jenkins-home``) and the crawl summary (``scan-jenkins``) in
each report format.

A decrypted value appears only with ``--show-secrets``; otherwise a secret field says what state
it is in (decrypted, encrypted, not decrypted, plain text) and which findings came from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanner.jenkins_crawl.inventory import CrawlInventory

if TYPE_CHECKING:
    from scanner.jenkins_home.inventory import HomeInventory, SecretField, StoredCredential

COUNT_KEYS = ("jobs", "builds", "logs", "nodes", "users", "api_token_entries", "password_parameters",
              "encrypted_values", "decrypted_values", "files_scanned", "files_not_scanned")


def crawl_dict(inventory: CrawlInventory) -> dict[str, Any]:
    """``scan-jenkins``: the Jenkins, what was read, and what could not be (with the reason)."""
    return {
        "kind": "jenkins",
        "url": inventory.url,
        "version": inventory.version,
        "counts": {key: int(value) for key, value in inventory.counts.items()},
        "unreadable": [{"item": u.item, "what": u.what, "reason": u.reason} for u in inventory.unreadable],
        "notes": list(inventory.notes),
    }


def crawl_text_lines(inventory: CrawlInventory) -> list[str]:
    counts = inventory.counts
    lines = [f"Jenkins {inventory.url} (version {inventory.version or 'unknown'}): {counts.get('jobs', 0)} jobs in "
             f"{counts.get('folders', 0)} folders, {counts.get('configs', 0)} configs, {counts.get('builds', 0)} builds "
             f"({counts.get('builds_skipped', 0)} skipped), {counts.get('logs', 0)} logs "
             f"({counts.get('log_bytes', 0) / 2**20:.1f} MB), {counts.get('nodes', 0)} nodes, "
             f"{counts.get('views', 0)} views; {counts.get('requests', 0)} requests"]
    if inventory.unreadable:
        lines.append(f"Not readable with this credential: {len(inventory.unreadable)}")
        for entry in inventory.unreadable:
            lines.append(f"  {entry.label}: {entry.what}: {entry.reason}")
    lines.extend(f"Note: {note}" for note in inventory.notes)
    return lines


def inventory_dict(inventory: HomeInventory | CrawlInventory | None, show_secrets: bool) -> dict[str, Any] | None:
    if inventory is None:
        return None
    if isinstance(inventory, CrawlInventory):
        return crawl_dict(inventory)
    keys = inventory.keys
    return {
        "kind": "jenkins-home",
        "home": inventory.home,
        "format": inventory.format,
        "root": inventory.root,
        "jenkins_url": inventory.jenkins_url,
        "keys": {"master_key": keys.master_key, "hudson_util_secret": keys.hudson_util_secret,
                 "secret_bytes_key": keys.secret_bytes_key, "legacy_secret_key": keys.legacy_secret_key,
                 "decryption": keys.decryption},
        "counts": {key: int(inventory.counts.get(key, 0)) for key in COUNT_KEYS},
        "credentials": [_credential(c, show_secrets) for c in inventory.credentials],
        "notes": list(inventory.notes),
    }


def _credential(c: StoredCredential, show_secrets: bool) -> dict[str, Any]:
    return {
        "id": c.id, "description": c.description, "kind": c.kind, "class": c.class_name, "scope": c.scope,
        "store": c.store, "owner": c.owner, "domain": c.domain, "username": c.username, "file_name": c.file_name,
        "location": c.location, "line": c.line,
        "secrets": [_secret(s, show_secrets) for s in c.secrets],
    }


def _secret(s: SecretField, show_secrets: bool) -> dict[str, Any]:
    return {"field": s.name, "state": s.state, "line": s.line, "value": s.value if show_secrets else None,
            "findings": list(s.finding_ids)}


def text_lines(inventory: HomeInventory | CrawlInventory | None, show_secrets: bool) -> list[str]:
    """The text report's section (strings already escaped for the terminal by the caller)."""
    if inventory is None:
        return []
    if isinstance(inventory, CrawlInventory):
        return crawl_text_lines(inventory)
    from scanner.jenkins_home.inventory import STATES

    counts = inventory.counts
    where = f" ({inventory.format}, home at {inventory.root or 'the top'}/)" if inventory.root is not None else ""
    lines = [f"JENKINS_HOME {inventory.home}{where}: Jenkins URL {inventory.jenkins_url or 'unknown'}",
             f"  {counts.get('jobs', 0)} jobs and folders, {counts.get('builds', 0)} builds, {counts.get('logs', 0)} logs, "
             f"{counts.get('nodes', 0)} nodes, {counts.get('users', 0)} users; "
             f"{counts.get('decrypted_values', 0)} of {counts.get('encrypted_values', 0)} encrypted values decrypted",
             f"  Key files: {_key_files(inventory)}; decryption {inventory.keys.decryption}"]
    noun = "credential" if len(inventory.credentials) == 1 else "credentials"
    lines.append(f"Stored credentials: {len(inventory.credentials)} {noun}")
    for c in inventory.credentials:
        store = c.store if c.owner is None else f"{c.store} {c.owner}"
        head = f"  [{store}] {c.id or '?'}  {c.kind}"
        if c.kind == "unknown":
            head += f" ({c.class_name})"
        details = [f"scope {c.scope}" if c.scope else None, f"domain {c.domain}" if c.domain != "_" else None,
                   f"user {c.username}" if c.username else None, f"file {c.file_name}" if c.file_name else None,
                   f'"{c.description}"' if c.description else None]
        lines.append(head + "".join(f", {d}" for d in details if d))
        for s in c.secrets:
            state = STATES.get(s.state, s.state)
            line = f"      {s.name}: {state}"
            if s.finding_ids:
                line += f" -> finding {', '.join(s.finding_ids)}"
            if show_secrets and s.value is not None:
                line += f" = {s.value}"
            lines.append(line)
    lines.extend(f"Note: {note}" for note in inventory.notes)
    return lines


def _key_files(inventory: HomeInventory) -> str:
    keys = inventory.keys
    present = [name for name, here in (("secrets/master.key", keys.master_key),
                                        ("secrets/hudson.util.Secret", keys.hudson_util_secret),
                                        ("secrets/com.cloudbees.plugins.credentials.SecretBytes.KEY",
                                         keys.secret_bytes_key),
                                        ("secret.key", keys.legacy_secret_key)) if here]
    return ", ".join(present) if present else "none"
