"""Per-request context: the services of the running Jenkins plus who is calling and their session."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import pages
from . import responses as rs
from .auth import ANONYMOUS, Auth, Authorizer
from .options import ServerOptions
from .responses import Site
from .sessions import Session, SessionStore, compute_crumb
from .state import JenkinsState
from .wire import Request, Response


@dataclass
class Services:
    state: JenkinsState
    options: ServerOptions
    site: Site
    sessions: SessionStore
    authorizer: Authorizer
    crumb_salt: str


@dataclass
class Ctx:
    svc: Services
    req: Request
    auth: Auth = ANONYMOUS
    session: Session | None = None
    new_cookies: list[str] = field(default_factory=list)

    @property
    def options(self) -> ServerOptions:
        return self.svc.options

    @property
    def site(self) -> Site:
        return self.svc.site

    @property
    def state(self) -> JenkinsState:
        return self.svc.state

    def ensure_session(self) -> Session:
        """request.getSession(): creates the session (and its cookie) on first use."""
        if self.session is None:
            self.session = self.svc.sessions.create()
            self.new_cookies.append(self.svc.sessions.set_cookie(self.session))
        return self.session

    def crumb_for(self, session: Session) -> str:
        ip = self.req.client_ip if self.options.crumb_uses_ip else None
        return compute_crumb(self.svc.crumb_salt, self.auth.name, session.id, ip)

    def issue_crumb(self) -> str | None:
        if not self.options.csrf_protection:
            return None
        return self.crumb_for(self.ensure_session())

    def absolute(self, path: str) -> str:
        """Stapler makes redirects absolute using the request's own Host."""
        host = self.req.header("Host")
        return f"http://{host}{path}" if host else self.site.absolute(path)

    def redirect_slash(self) -> Response:
        """DirectoryishDispatcher: same URL plus '/', query kept."""
        query = f"?{self.req.query}" if self.req.query else ""
        return rs.redirect(self.absolute(self.req.path + "/" + query))

    def page(self, title: str, body: str, status: int = 200, model_type: str = "hudson.model.Hudson") -> Response:
        document = pages.layout(self.site, title, body, auth=self.auth, crumb=self.issue_crumb(),
                                model_type=model_type)
        return rs.html(self.site, document, status)

    def not_found(self) -> Response:
        return self.page("Not Found", pages.not_found(), 404)

    def requires_post(self) -> Response:
        response = self.page("This URL requires POST", pages.requires_post(self.req.uri), 405)
        return response.add("Allow", "POST")

    @property
    def authorizer(self) -> Authorizer:
        return self.svc.authorizer
