"""HTML pages outside the token list: layout, dashboard, login, whoAmI, user, 404, 405, 403."""
from __future__ import annotations

from html import escape

from .auth import Auth
from .responses import Site
from .sessions import CRUMB_FIELD
from .users import User


def layout(site: Site, title: str, body: str, *, auth: Auth, crumb: str | None,
           model_type: str = "hudson.model.Hudson") -> str:
    """l:layout: the crumb travels in <head data-crumb-value>, the version in the footer."""
    res = f"/static/{site.session_hash}"
    crumb_attrs = (f' data-crumb-header="{CRUMB_FIELD}" data-crumb-value="{escape(crumb)}"' if crumb else "")
    if auth.anonymous:
        login = '<a class="jenkins-button jenkins-button--tertiary" href="/login"><span>Sign in</span></a>'
    else:
        login = (f'<a href="/user/{escape(auth.user.key)}" class="model-link jenkins-button '
                 f'jenkins-button--tertiary"><span class="hidden-xs hidden-sm">{escape(auth.user.full_name)}'
                 '</span></a><a class="jenkins-button jenkins-button--tertiary" href="/logout">'
                 '<span>Sign out</span></a>')
    return (f'<!DOCTYPE html><html class=""><head resURL="{res}" data-rooturl="" data-resurl="{res}" '
            f'data-imagesurl="{res}/images"{crumb_attrs} data-extensions-available="true">'
            f"<title>{escape(title)} [Jenkins]</title>"
            '<meta name="ROBOTS" content="INDEX,NOFOLLOW"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"></head>'
            f'<body id="jenkins" class="two-column jenkins-{escape(site.version)}" data-model-type="{model_type}" '
            f'data-version="{escape(site.version)}"><header id="page-header" class="page-header">'
            '<div class="page-header__brand"><a id="jenkins-home-link" href="/">Jenkins</a></div>'
            f'<div class="login page-header__hyperlinks">{login}</div></header>'
            f'<div id="page-body" class="app-page-body"><div id="main-panel">{body}</div></div>'
            '<footer class="page-footer"><div class="page-footer__links">'
            '<a class="jenkins-button jenkins-button--tertiary rest-api" href="api/">REST API</a>'
            f'<button class="jenkins-button jenkins-button--tertiary jenkins_ver">Jenkins {escape(site.version)}'
            "</button></div></footer></body></html>")


def dashboard() -> str:
    return ('<div class="empty-state-block"><h1>Welcome to Jenkins!</h1>'
            "<p>This page is where your Jenkins jobs will be displayed.</p></div>")


def login_form(from_path: str, error: bool = False) -> str:
    message = ('<div class="app-sign-in-register__error">Invalid username or password</div>' if error else "")
    return ('<div class="app-sign-in-register__content-inner"><h1>Sign in to Jenkins</h1>'
            f'{message}<form method="post" name="login" action="j_spring_security_check">'
            '<div class="jenkins-form-item"><label class="jenkins-form-label" for="j_username">Username</label>'
            '<input autocomplete="username" name="j_username" id="j_username" type="text" class="jenkins-input"></div>'
            '<div class="jenkins-form-item"><label class="jenkins-form-label" for="j_password">Password</label>'
            '<input autocomplete="current-password" name="j_password" id="j_password" type="password" '
            'class="jenkins-input"></div>'
            f'<input name="from" type="hidden" value="{escape(from_path)}">'
            '<button type="submit" name="Submit" class="jenkins-button jenkins-button--primary">Sign in</button>'
            "</form></div>")


def who_am_i(auth: Auth, anonymous_authenticated: bool) -> str:
    authority = "anonymous" if auth.anonymous else "authenticated"
    authenticated = "true" if (anonymous_authenticated or not auth.anonymous) else "false"
    return (f"<h1>Who Am I?</h1><table><tr><td>Name:</td><td>{escape(auth.name)}</td></tr>"
            f"<tr><td>IsAuthenticated?:</td><td>{authenticated}</td></tr>"
            f"<tr><td>Authorities:</td><td><ul><li>\"{authority}\"</li></ul></td></tr></table>"
            "<h2>Request Headers</h2><p>Cookie and Authorization headers are hidden.</p>")


def user_index(target: User, base: str) -> str:
    description = escape(target.description or "")
    return (f'<div id="tasks"><div class="task"><a href="{base}/">Status</a></div>'
            f'<div class="task"><a href="{base}/account/">Account</a></div>'
            f'<div class="task"><a href="{base}/security/">Security</a></div>'
            f'<div class="task"><a href="{base}/configure">Configure</a></div></div>'
            f"<h1>{escape(target.full_name)}</h1><div>{description}</div>"
            f"<div>Jenkins User ID: {escape(target.id)}</div>")


def account(target: User) -> str:
    return ('<h1>Account</h1><form method="post" action="configSubmit" name="config">'
            '<div class="jenkins-form-item"><div class="jenkins-form-label">Full Name</div>'
            f'<input name="_.fullName" type="text" class="jenkins-input" value="{escape(target.full_name)}"></div>'
            '<div class="jenkins-form-item"><div class="jenkins-form-label">Description</div>'
            f'<textarea name="_.description">{escape(target.description or "")}</textarea></div></form>')


def not_found() -> str:
    return ('<div class="jenkins-not-found"><h1>Not found</h1>'
            "<p>The requested page does not exist</p></div>")


def requires_post(uri: str) -> str:
    """CrumbFilter/retry.jelly, served with 405."""
    return ("<h1>This URL requires POST</h1><p>The URL you're trying to access requires that requests be sent "
            "using POST (like a form submission). The button below allows you to retry accessing this URL using "
            "POST, but only do this if you trust the URL.</p>"
            f'<form method="POST" action="{escape(uri)}"><button class="jenkins-button jenkins-button--primary">'
            "Proceed</button></form>")


# Permission group titles as the access-denied message names them
GROUP_TITLES = {"Hudson": "Overall", "Item": "Job", "Computer": "Agent", "View": "View", "Run": "Run"}


def access_denied(name: str, permission_id: str) -> str:
    group, permission = permission_id.rsplit(".", 2)[-2:]
    label = GROUP_TITLES.get(group, group) + "/" + permission
    return f'<h1>Access Denied</h1><p class="error">{escape(name)} is missing the {label} permission</p>'


def denied_message(message: str) -> str:
    return f'<h1>Access Denied</h1><p class="error">{escape(message)}</p>'


def change_token_message(shown: bool) -> str:
    if shown:
        return "<div>Updated. See the new API token in the field above</div>"
    return "<div>Updated. To see the new token, ask the user to log in</div>"


CAPABILITY_NOT_ALLOWED = ("<div>This user does not have a legacy token, and creation of legacy tokens "
                          "is disabled</div>")
