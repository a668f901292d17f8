"""Stapler's exported models (api/json, api/xml): `_class` first, then properties sorted by name."""
from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .auth import Auth
from .sessions import CRUMB_FIELD
from .users import User

Model = dict[str, Any]

# UserProperty classes a core Jenkins user carries; they export nothing but _class.
USER_PROPERTY_CLASSES = (
    "jenkins.security.ApiTokenProperty",
    "jenkins.model.experimentalflags.UserExperimentalFlagsProperty",
    "hudson.model.MyViewsProperty",
    "hudson.model.PaneStatusProperties",
    "jenkins.security.seed.UserSeedProperty",
    "hudson.search.UserSearchProperty",
    "hudson.model.TimeZoneProperty",
    "hudson.security.HudsonPrivateSecurityRealm$Details",
    "jenkins.console.ConsoleUrlProviderUserProperty",
)


def model(class_name: str, **props: Any) -> Model:
    return {"_class": class_name, **{k: props[k] for k in sorted(props)}}


def whoami(auth: Auth, anonymous_authenticated: bool) -> Model:
    if auth.anonymous:
        return model("hudson.security.WhoAmI", anonymous=True, authenticated=anonymous_authenticated,
                     authorities=["anonymous"], name="anonymous")
    return model("hudson.security.WhoAmI", anonymous=False, authenticated=True,
                 authorities=["authenticated"], name=auth.name)


def user(target: User, root_url: str, show_properties: bool) -> Model:
    properties = []
    if show_properties:
        for name in USER_PROPERTY_CLASSES:
            extra = {"insensitiveSearch": True} if name == "hudson.search.UserSearchProperty" else {}
            properties.append(model(name, **extra))
    return model("hudson.model.User", absoluteUrl=f"{root_url}user/{target.key}", description=target.description,
                 fullName=target.full_name, id=target.id, property=properties)


def people(users: list[User], root_url: str, asynch: bool) -> Model:
    """View.AsynchPeople.People / View.People: one UserInfo per known user."""
    infos = [model("hudson.model.View$UserInfo", lastChange=None, project=None,
                   user=model("hudson.model.User", absoluteUrl=f"{root_url}user/{u.key}", description=u.description,
                              fullName=u.full_name, id=u.id))
             for u in users]
    name = "hudson.model.View$AsynchPeople$People" if asynch else "hudson.model.View$People"
    return model(name, users=infos)


def depth_zero_people(value: Model) -> Model:
    """Without tree= or depth=, a nested User shows only its visibility-999 properties."""
    users = [{**info, "user": {k: v for k, v in info["user"].items() if k in ("_class", "absoluteUrl", "fullName")}}
             for info in value["users"]]
    return {**value, "users": users}


def root(root_url: str, security_enabled: bool, csrf: bool) -> Model:
    view = model("hudson.model.AllView", name="all", url=root_url)
    return model("hudson.model.Hudson", assignedLabels=[{"name": "built-in"}], description=None, jobs=[],
                 mode="NORMAL", nodeDescription="the Jenkins controller's built-in node", nodeName="",
                 numExecutors=2, overallLoad={}, primaryView=view, quietDownReason=None, quietingDown=False,
                 slaveAgentPort=-1, unlabeledLoad=model("jenkins.model.UnlabeledLoadStatistics"), url=root_url,
                 useCrumbs=csrf, useSecurity=security_enabled, views=[view])


def crumb(value: str) -> Model:
    return model("hudson.security.csrf.DefaultCrumbIssuer", crumb=value, crumbRequestField=CRUMB_FIELD)


# -- XML flavour ----------------------------------------------------------------------------

def render_xml(root_tag: str, value: Model) -> str:
    return _xml_node(root_tag, value)


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _xml_node(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        attrs = f" _class={quoteattr(value['_class'])}" if "_class" in value else ""
        inner = "".join(_xml_child(k, v) for k, v in value.items() if k != "_class")
        return f"<{tag}{attrs}/>" if not inner else f"<{tag}{attrs}>{inner}</{tag}>"
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _xml_child(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(_xml_node(_singular(name), item) for item in value)
    return _xml_node(name, value)
