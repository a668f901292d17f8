"""How ``scan-jenkins`` names the places it read: ``jenkins://`` locations and item URLs.

A location's path is ``jenkins://`` + host[:port] + the Jenkins root path + the object's path as
Jenkins' own URLs spell it (names encoded as ``Util.rawEncode`` does), then what was read, and
optionally ``#`` + the field (docs/report-format.md):

    jenkins://ci.example.com/job/team/job/app/12/console           (log line in Location.line)
    jenkins://ci.example.com/job/team/job/app/config.xml#builders/hudson.tasks.Shell/command
    jenkins://ci.example.com/job/team/job/app/12/parameters#parameter:DEPLOY_TOKEN
    jenkins://ci.example.com/job/team/job/app/12/description
    jenkins://ci.example.com/computer/agent-1/config.xml#env:DEPLOY_TOKEN
    jenkins://ci.example.com/view/ops/config.xml#description

Item URLs are built from item names, never taken from the ``url`` a Jenkins answers (it is built
from the configured root URL and may name another host: jenkins-api.md 9.1).
"""

from __future__ import annotations

from urllib.parse import unquote

SCHEME = "jenkins://"
SOURCE = "jenkins"  # Location.source of everything found by scan-jenkins
# Util.rawEncode keeps these bytes as they are; everything else is %XX with uppercase hex.
_RAW_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!$&'()*+,-.=@_")



def raw_encode(name: str) -> str:
    """One URL segment as Jenkins writes it (``Util.rawEncode``): a space is %20, never +."""
    return "".join(chr(b) if b in _RAW_SAFE else f"%{b:02X}" for b in name.encode("utf-8", "surrogateescape"))


def item_path(full_name: str) -> str:
    """``team/app`` -> ``job/team/job/app`` (no leading or trailing slash)."""
    return "/".join(f"job/{raw_encode(name)}" for name in full_name.split("/"))


def display(base: str, path: str, fragment: str | None = None) -> str:
    """``base`` is ``host[:port]/root`` (no scheme, no trailing slash); ``path`` below the root."""
    return f"{SCHEME}{base}/{path}" + (f"#{fragment}" if fragment else "")


def describe(location: str) -> str | None:
    """A person's name for a jenkins:// location: ``job team/app #12 console``; None for other paths."""
    if not location.startswith(SCHEME):
        return None
    rest, _, fragment = location[len(SCHEME):].partition("#")
    parts = rest.split("/")[1:]  # drop host[:port]
    start = next((i for i, part in enumerate(parts) if part in ("job", "computer", "view")), None)
    if start is None:
        return None
    kind = parts[start]
    tail = parts[start:]
    if kind == "job":
        names: list[str] = []
        while len(tail) >= 2 and tail[0] == "job":
            names.append(unquote(tail[1]))
            tail = tail[2:]
        text = f"job {'/'.join(names)}"
        if len(tail) == 2 and tail[0].isdigit():
            text += f" #{tail[0]} {tail[1]}"
        elif tail:
            text += " " + "/".join(tail)
    else:
        text = f"{'node' if kind == 'computer' else 'view'} {unquote(tail[1]) if len(tail) > 1 else '?'}"
        if len(tail) > 2:
            text += " " + "/".join(tail[2:])
    return f"{text} [{fragment}]" if fragment else text
