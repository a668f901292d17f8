"""The request entry point: fault injection around the Jenkins pipeline, plus the request log."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Callable

from . import sso
from .auth import MalformedBasicHeader, parse_basic
from .context import Services
from .faults import FaultRule, Faults
from .pipeline import process
from .reqlog import RequestLog, RequestRecord
from .wire import Request, Response

PROXY_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                 504: "Gateway Time-out"}


@dataclass(frozen=True)
class Outcome:
    response: Response | None  # None = close the connection without answering
    reset: bool = False
    canned: FaultRule | None = None  # a hostile answer written byte for byte (response is None)


def proxy_error(status: int) -> Response:
    """What a reverse proxy in front of Jenkins answers: no Jenkins headers at all."""
    reason = PROXY_REASONS.get(status, "Error")
    body = (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}"
            "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return Response(status, [("Content-Type", "text/html")], body.encode())


def presented_user(req: Request) -> str | None:
    try:
        credentials = parse_basic(req.header("Authorization"))
    except MalformedBasicHeader:
        return None
    return credentials[0] if credentials else None


class JenkinsApp:
    def __init__(self, svc: Services, faults: Faults, log: RequestLog, stopping: threading.Event,
                 sso_origin: Callable[[], str]) -> None:
        self.svc = svc
        self.faults = faults
        self.log = log
        self.stopping = stopping
        self.sso_origin = sso_origin

    def handle(self, req: Request) -> Outcome:
        method, path = req.method, req.path
        record = RequestRecord(method, path, None, presented_user(req), req.query)
        delay = sum(rule.seconds for rule in self.faults.take("latency", method, path))
        delay += self.svc.options.latency_ms / 1000  # ServerOptions.latency_ms: a distant Jenkins
        if delay:
            self.stopping.wait(delay)  # interruptible so stop() never waits for injected latency
        for hook in self.faults.take("hook", method, path):
            if hook.action is not None:
                hook.action(method, path)
        canned = self.faults.take("respond", method, path)
        if canned and canned[0].response is not None:
            self.log.append(replace(record, status=canned[0].response.status, fault="respond"))
            return Outcome(None, canned=canned[0])
        if path == sso.SSO_PATH:
            return self._done(record, sso.login_page_response(), "sso")
        sso_rules = self.faults.take("sso", method, path)
        if sso_rules:
            return self._done(record, self._sso(sso_rules[0], req), "sso")
        errors = self.faults.take("error", method, path)
        if errors:
            return self._done(record, proxy_error(errors[0].status), "error")
        drops = self.faults.take("drop", method, path)
        drop: FaultRule | None = drops[0] if drops else None
        if drop is not None and not drop.after_action:
            return self._dropped(record, drop)
        ctx, response = process(self.svc, req)
        user = ctx.auth.user.id if ctx.auth.user else None
        record = replace(record, user=user, via_token=ctx.auth.via_token)
        if drop is not None:
            return self._dropped(record, drop)
        return self._done(record, response, None)

    def _sso(self, rule: FaultRule, req: Request) -> Response:
        if rule.sso_mode == "inline":
            return sso.login_page_response()
        origin = self.sso_origin() if rule.sso_mode == "external" else self.svc.site.root_url
        return sso.redirect_to(origin, self.svc.site.absolute(req.uri))

    def _done(self, record: RequestRecord, response: Response, fault: str | None) -> Outcome:
        self.log.append(replace(record, status=response.status, fault=fault))
        return Outcome(response)

    def _dropped(self, record: RequestRecord, rule: FaultRule) -> Outcome:
        self.log.append(replace(record, status=None, fault="drop"))
        return Outcome(None, rule.reset)
