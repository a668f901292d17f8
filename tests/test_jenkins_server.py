"""The Jenkins test server against an independent client (python-jenkins) and curl."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jenkins
import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions, run_forever
from tests.conftest_jenkins import (PASSWORDS, CurlResult, ServerFactory, basic, curl, fake_secret,
                                    make_server, parse_html, srv)  # noqa: F401 - fixtures

PROPERTY = "descriptorByName/jenkins.security.ApiTokenProperty"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def token_auth(srv: JenkinsTestServer, user: str = "alice", name: str = "ci") -> tuple[str, str]:
    """(Authorization header, token uuid) for a fresh token of `user`."""
    created = srv.create_token(user, name=name)
    return basic(user, created.value), created.uuid


def post(srv: JenkinsTestServer, path: str, auth: str | None, *data: str) -> CurlResult:
    args = ["-X", "POST"] + [part for item in data for part in ("--data-urlencode", item)]
    return curl(srv.url + path, *args, auth=auth)


def whoami(srv: JenkinsTestServer, auth: str | None) -> CurlResult:
    return curl(srv.url + "whoAmI/api/json", auth=auth)


# -- python-jenkins as an independent client ----------------------------------------------------

def test_python_jenkins_whoami_and_version_with_token(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="ci")
    client = jenkins.Jenkins(srv.url, username="alice", password=token.value, timeout=10)
    assert client.get_whoami()["id"] == "alice"
    assert client.get_whoami()["absoluteUrl"] == srv.url + "user/alice"
    assert client.get_version() == "2.578"


def test_python_jenkins_with_password_and_case_insensitive_id(srv: JenkinsTestServer) -> None:
    client = jenkins.Jenkins(srv.url, username="ALICE", password=PASSWORDS["alice"], timeout=10)
    me = client.get_whoami()
    assert (me["id"], me["fullName"]) == ("alice", "Alice")


def test_python_jenkins_bad_credentials_raise(srv: JenkinsTestServer) -> None:
    srv.create_token("alice", name="ci")
    client = jenkins.Jenkins(srv.url, username="alice", password=fake_secret(), timeout=10)
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        client.get_whoami()
    with pytest.raises(jenkins.BadHTTPException):
        client.get_version()


def test_python_jenkins_fetches_crumb_and_posts(srv: JenkinsTestServer) -> None:
    """A password client needs crumb + session cookie; python-jenkins handles both."""
    victim = srv.create_token("alice", name="victim")
    client = jenkins.Jenkins(srv.url, username="alice", password=PASSWORDS["alice"], timeout=10)
    import requests

    request = requests.Request("POST", srv.url + f"user/alice/{PROPERTY}/revoke", data={"tokenUuid": victim.uuid})
    client.jenkins_open(request)
    assert not srv.token_works("alice", victim.value)


# -- HTTP Basic and status codes (§2, §8) -------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong-password", "unknown-user", "other-users-token", "no-colon", "bad-base64"])
def test_bad_credentials_get_401_challenge(srv: JenkinsTestServer, case: str) -> None:
    bob_token = srv.create_token("bob", name="b").value
    header = {"wrong-password": basic("alice", "nope"), "unknown-user": basic("ghost", bob_token),
              "other-users-token": basic("alice", bob_token), "no-colon": "Basic " + "YWxpY2U=",
              "bad-base64": "Basic !!!notbase64"}[case]
    result = whoami(srv, header)
    assert result.status == 401
    assert result.header("WWW-Authenticate") == 'Basic realm="Jenkins"'
    assert result.header("X-Jenkins") is None  # filter-level 401: no advertised headers (default)
    assert "ghost" not in srv.users()


def test_basic_scheme_is_case_insensitive_and_bearer_is_ignored(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    lower = whoami(srv, "basic" + auth[5:])
    assert json.loads(lower.body)["name"] == "alice"
    bearer = whoami(srv, "Bearer " + fake_secret())
    assert bearer.status == 200 and json.loads(bearer.body)["anonymous"] is True


def test_x_jenkins_on_401_option(make_server: ServerFactory) -> None:
    srv = make_server(x_jenkins_on_401=True)
    result = whoami(srv, basic("alice", "nope"))
    assert result.status == 401 and result.header("X-Jenkins") == "2.578"


def test_anonymous_gets_403_login_redirect_not_401(srv: JenkinsTestServer) -> None:
    result = curl(srv.url + "api/json")
    assert result.status == 403
    assert result.header("WWW-Authenticate") is None
    assert result.header("Content-Type") == "text/html;charset=UTF-8"
    assert (result.header("X-Jenkins"), result.header("X-Hudson")) == ("2.578", "1.395")
    assert re.fullmatch(r"[0-9a-f]{8}", result.header("X-Jenkins-Session") or "")
    assert "content='1;url=/login?from=%2Fapi%2Fjson'" in result.body
    assert "Authentication required" in result.body
    assert result.header("X-You-Are-Authenticated-As") is None
    xhr = curl(srv.url + "api/json", "-H", "X-Requested-With: XMLHttpRequest")
    assert xhr.status == 403 and xhr.header("X-Jenkins") is None and "url=/login" not in xhr.body


def test_anonymous_403_permission_headers_option(make_server: ServerFactory) -> None:
    srv = make_server(anonymous_403_permission_headers=True)
    result = curl(srv.url + "api/json")
    assert result.header("X-You-Are-Authenticated-As") == "anonymous"
    assert result.header("X-Required-Permission") == "hudson.model.Hudson.Read"


def test_authenticated_without_overall_read(srv: JenkinsTestServer) -> None:
    auth, token_uuid = token_auth(srv, "norights")
    assert json.loads(whoami(srv, auth).body)["name"] == "norights"  # whoAmI needs no Overall/Read
    for path in ("api/json", "me/api/json", "user/norights/api/json"):
        result = curl(srv.url + path, auth=auth)
        assert result.status == 403, path
        assert result.header("X-You-Are-Authenticated-As") == "norights"
        assert result.header("X-Required-Permission") == "hudson.model.Hudson.Read"
        assert result.headers["x-permission-implied-by"] == ["hudson.security.Permission.GenericRead",
                                                             "hudson.model.Hudson.Administer"]
        assert (result.header("X-You-Are-In-Group-Disabled") or "").startswith("JENKINS-39402")
    # so it cannot even revoke its own token
    assert post(srv, f"user/norights/{PROPERTY}/revoke", auth, f"tokenUuid={token_uuid}").status == 403
    assert srv.list_tokens("norights")


def test_trailing_slash_redirects_are_absolute_and_keep_query(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    cases = {"whoAmI": "whoAmI/", "me": "me/", "user/alice/security": "user/alice/security/",
             "user/alice": "user/alice/", "whoAmI?x=1": "whoAmI/?x=1"}
    for path, target in cases.items():
        result = curl(srv.url + path, auth=auth)
        assert (result.status, result.header("Location")) == (302, srv.url + target), path
    for path in ("whoAmI/api/json", "whoAmI/api/json/", "me/api/json"):
        assert curl(srv.url + path, auth=auth).status == 200, path


def test_unknown_user_404_and_unknown_path(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    assert curl(srv.url + "user/nobody/api/json", auth=auth).status == 404
    assert curl(srv.url + "no/such/page", auth=auth).status == 404
    assert curl(srv.url + "no/such/page").status == 403  # READ is checked before routing


def test_get_on_post_only_endpoint_is_405(srv: JenkinsTestServer) -> None:
    auth, token_uuid = token_auth(srv)
    for method in ("revoke", "revoke/", "generateNewToken", "revokeAll", "rename"):
        result = curl(srv.url + f"user/alice/{PROPERTY}/{method}?tokenUuid={token_uuid}", auth=auth)
        assert (result.status, result.header("Allow")) == (405, "POST"), method
        assert "This URL requires POST" in result.body
    # 405 comes before the permission check: bob gets it too for alice's endpoint
    bob, _ = token_auth(srv, "bob")
    assert curl(srv.url + f"user/alice/{PROPERTY}/revoke", auth=bob).status == 405
    assert curl(srv.url + f"user/alice/{PROPERTY}/revoke").status == 403  # anonymous: READ first
    assert len(srv.list_tokens("alice")) == 1


def test_rest_and_html_headers(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    api = curl(srv.url + "whoAmI/api/json", auth=auth)
    assert api.header("Content-Type") == "application/json;charset=UTF-8"
    assert (api.header("X-Content-Type-Options"), api.header("X-Frame-Options")) == ("nosniff", "deny")
    assert api.header("X-Jenkins") == "2.578" and api.header("X-Hudson") is None
    assert api.header("Set-Cookie") is None  # REST with a token creates no session
    page = curl(srv.url, auth=auth)
    assert page.status == 200 and page.header("X-Jenkins") == "2.578" and page.header("X-Hudson") == "1.395"
    assert page.header("Cache-Control") == "no-cache,no-store,must-revalidate"
    assert (page.header("X-Instance-Identity") or "").startswith("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A")
    assert re.match(r"JSESSIONID\.[0-9a-f]{8}=", page.header("Set-Cookie") or "")


def test_session_hash_changes_on_restart_but_state_persists(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="keep")
    before = whoami(srv, None).header("X-Jenkins-Session")
    srv.restart()
    after = whoami(srv, basic("alice", token.value))
    assert after.header("X-Jenkins-Session") != before
    assert json.loads(after.body)["name"] == "alice"


# -- who-am-i and user models (§3) ------------------------------------------------------------

def test_whoami_json_exact(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    assert whoami(srv, auth).body == ('{"_class":"hudson.security.WhoAmI","anonymous":false,"authenticated":true,'
                                      '"authorities":["authenticated"],"name":"alice"}')
    assert whoami(srv, None).body == ('{"_class":"hudson.security.WhoAmI","anonymous":true,"authenticated":true,'
                                      '"authorities":["anonymous"],"name":"anonymous"}')
    upper = whoami(srv, basic("ALICE", srv.create_token("alice").value))
    assert json.loads(upper.body)["name"] == "alice"  # canonical stored id
    pretty = curl(srv.url + "whoAmI/api/json?pretty=true", auth=auth).body
    assert "\n" in pretty and json.loads(pretty)["name"] == "alice"


def test_whoami_xml(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    root = ET.fromstring(curl(srv.url + "whoAmI/api/xml", auth=auth).body)
    assert root.get("_class") == "hudson.security.WhoAmI"
    assert [root.findtext(".//name"), root.findtext(".//anonymous"), root.findtext(".//authority")] == [
        "alice", "false", "authenticated"]


def test_user_json_properties_only_for_self_and_admin(srv: JenkinsTestServer) -> None:
    alice, _ = token_auth(srv)
    bob, _ = token_auth(srv, "bob")
    admin, _ = token_auth(srv, "admin")
    own = json.loads(curl(srv.url + "user/ALICE/api/json", auth=alice).body)
    assert list(own)[:6] == ["_class", "absoluteUrl", "description", "fullName", "id", "property"]
    assert own["absoluteUrl"] == srv.url + "user/alice" and own["description"] is None
    assert {"_class": "jenkins.security.ApiTokenProperty"} in own["property"]
    assert json.loads(curl(srv.url + "user/alice/api/json", auth=bob).body)["property"] == []
    assert json.loads(curl(srv.url + "user/alice/api/json", auth=admin).body)["property"]
    me = json.loads(curl(srv.url + "me/api/json?depth=0", auth=alice).body)
    assert me == own
    tree = json.loads(curl(srv.url + "me/api/json?tree=id,fullName", auth=alice).body)
    assert tree == {"_class": "hudson.model.User", "fullName": "Alice", "id": "alice"}


def test_every_object_shares_one_tree_exporter(srv: JenkinsTestServer) -> None:
    """Users and people honour {M,N} ranges, a bare name of an object gives only its _class, and
    a malformed tree is a 500, as for items (NamedPathPruner, jenkins-api.md 9.1)."""
    admin, _ = token_auth(srv, "admin")
    people = json.loads(curl(srv.url + "asynchPeople/api/json?tree=users[user[id]]", "-g", auth=admin).body)["users"]
    first = json.loads(curl(srv.url + "asynchPeople/api/json?tree=users[user[id]]{0,1}", "-g", auth=admin).body)["users"]
    assert len(people) > 1 and first == people[:1]
    bare = json.loads(curl(srv.url + "me/api/json?tree=property", auth=admin).body)["property"]
    assert bare and all(list(p) == ["_class"] for p in bare)
    assert curl(srv.url + "me/api/json?tree=id[", "-g", auth=admin).status == 500


def test_anonymous_me_is_login_redirect(make_server: ServerFactory) -> None:
    srv = make_server(anonymous_read=True)
    assert curl(srv.url + "api/json").status == 200
    result = curl(srv.url + "me/api/json")
    assert result.status == 403 and "url=/login?from=%2Fme%2Fapi%2Fjson" in result.body


def test_security_disabled_everyone_is_anonymous(make_server: ServerFactory) -> None:
    srv = make_server(security_enabled=False)
    token = srv.create_token("alice", name="ci")
    for header in (basic("alice", token.value), basic("alice", "wrong"), None):
        result = whoami(srv, header)
        assert result.status == 200 and json.loads(result.body)["anonymous"] is True
    assert curl(srv.url + "user/alice/api/json").status == 200
    assert jenkins.Jenkins(srv.url, timeout=10).get_version() == "2.578"
    assert srv.list_tokens("alice")[0].use_counter == 0  # the header was never looked at


# -- CSRF (§5) ------------------------------------------------------------------------------

def crumb_session(srv: JenkinsTestServer, auth: str, jar: Path) -> str:
    issued = curl(srv.url + "crumbIssuer/api/json", auth=auth, cookies=jar)
    body = json.loads(issued.body)
    assert body["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert body["crumbRequestField"] == "Jenkins-Crumb" and re.fullmatch(r"[0-9a-f]{64}", body["crumb"])
    assert (issued.header("Set-Cookie") or "").startswith("JSESSIONID.")
    return body["crumb"]


def test_crumb_rules_for_password_callers(srv: JenkinsTestServer, tmp_path: Path) -> None:
    password = basic("alice", PASSWORDS["alice"])
    target = f"user/alice/{PROPERTY}/revokeAll"
    srv.create_token("alice", name="x")
    no_crumb = post(srv, target, password)
    assert no_crumb.status == 403 and "No valid crumb was included in the request" in no_crumb.body
    jar = tmp_path / "jar"
    crumb = crumb_session(srv, password, jar)
    without_cookie = curl(srv.url + target, "-X", "POST", "-H", f"Jenkins-Crumb: {crumb}", auth=password)
    assert without_cookie.status == 403  # the crumb is bound to the session
    assert srv.list_tokens("alice")
    ok = curl(srv.url + target, "-X", "POST", "-H", f"Jenkins-Crumb: {crumb}", auth=password, cookies=jar)
    assert ok.status == 200 and srv.list_tokens("alice") == []
    as_param = curl(srv.url + target, "--data", f"Jenkins-Crumb={crumb}", auth=password, cookies=jar)
    assert as_param.status == 200
    # a crumb is also bound to the user it was issued to
    bob = curl(srv.url + f"user/bob/{PROPERTY}/revokeAll", "-X", "POST", "-H", f"Jenkins-Crumb: {crumb}",
               auth=basic("bob", PASSWORDS["bob"]), cookies=jar)
    assert bob.status == 403 and "crumb" in bob.body


def test_crumb_checked_before_routing_and_token_auth_exempt(srv: JenkinsTestServer) -> None:
    assert post(srv, "no/such/page", basic("alice", PASSWORDS["alice"])).status == 403
    assert "No valid crumb" in post(srv, f"user/alice/{PROPERTY}/revoke", None).body
    auth, token_uuid = token_auth(srv)
    assert post(srv, "no/such/page", auth).status == 404
    assert post(srv, f"user/alice/{PROPERTY}/revoke", auth, f"tokenUuid={token_uuid}").status == 200


def test_crumb_issuer_needs_read_and_supports_xpath(srv: JenkinsTestServer) -> None:
    assert curl(srv.url + "crumbIssuer/api/json").status == 403
    auth, _ = token_auth(srv)
    result = curl(srv.url + 'crumbIssuer/api/xml?xpath=concat(//crumbRequestField,":",//crumb)', "-g", auth=auth)
    assert re.fullmatch(r"Jenkins-Crumb:[0-9a-f]{64}", result.body)


def test_csrf_disabled_has_no_crumb_issuer(make_server: ServerFactory) -> None:
    srv = make_server(csrf_protection=False)
    password = basic("alice", PASSWORDS["alice"])
    assert curl(srv.url + "crumbIssuer/api/json", auth=password).status == 404
    srv.create_token("alice", name="x")
    assert post(srv, f"user/alice/{PROPERTY}/revokeAll", password).status == 200


# -- token matching (§1.2, §1.3, §1.4) ------------------------------------------------------

def test_token_matching_rules(srv: JenkinsTestServer) -> None:
    value = srv.create_token("alice", name="ci").value
    secret = value[2:]
    assert srv.token_works("alice", value)
    assert srv.token_works("ALICE", value)
    assert srv.token_works("alice", "zz" + secret)  # any 2-char prefix is dropped
    assert srv.token_works("alice", secret)  # the bare secret takes the legacy path, same hash
    assert not srv.token_works("alice", value.upper())
    assert not srv.token_works("alice", value + "0")
    assert not srv.token_works("alice", "")
    assert not srv.token_works("bob", value)
    expired = srv.create_token("alice", name="old", expiration_date=date(2020, 1, 1))
    assert not srv.token_works("alice", expired.value)
    today = srv.create_token("alice", name="today", expiration_date=datetime.now(timezone.utc).date())
    assert srv.token_works("alice", today.value)  # expires only after its day


def test_token_matching_over_http(srv: JenkinsTestServer) -> None:
    value = srv.create_token("alice", name="ci").value
    expired = srv.create_token("alice", name="old", expiration_date=date(2020, 1, 1)).value
    for presented, status in ((value, 200), ("XY" + value[2:], 200), (value[2:], 200), (value.upper(), 401),
                              (expired, 401)):
        assert whoami(srv, basic("alice", presented)).status == status, presented[:4]


def test_legacy_token(srv: JenkinsTestServer) -> None:
    legacy = srv.create_legacy_token("alice")
    assert re.fullmatch(r"[0-9a-f]{32}", legacy.value) and legacy.name == "Legacy Token"
    assert json.loads(whoami(srv, basic("alice", legacy.value)).body)["name"] == "alice"
    info = {t.uuid: t for t in srv.list_tokens("alice")}[legacy.uuid]
    assert info.legacy and info.use_counter == 1
    config = (srv.user_dir("alice") / "config.xml").read_text()
    assert "<apiToken>" in config and "<version>10</version>" in config
    assert hashlib.sha256(legacy.value.encode()).hexdigest() in config


def test_deterministic_legacy_token_creates_unknown_user(make_server: ServerFactory) -> None:
    srv = make_server(token_generation_on_creation_enabled=True)
    srv.add_user("carol", password="pw")
    carol = srv.create_legacy_token("carol", deterministic=True)
    assert any(t.legacy for t in srv.list_tokens("carol"))
    assert srv.token_works("carol", carol.value)
    # the unknown-user path: the deterministic token of a not-yet-existing user logs in and creates it
    probe = JenkinsTestServer(srv.home, srv.options)  # same home and seed key: compute dave's token
    probe.add_user("dave")
    dave_value = probe.create_legacy_token("dave", deterministic=True).value
    assert "dave" not in srv.users()
    assert json.loads(whoami(srv, basic("dave", dave_value)).body)["name"] == "dave"
    assert "dave" in srv.users()
    assert whoami(srv, basic("erin", dave_value)).status == 401


# -- token endpoints (§4) -------------------------------------------------------------------

def test_generate_new_token(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    result = post(srv, f"user/alice/{PROPERTY}/generateNewToken", auth, "newTokenName=deploy")
    assert result.status == 200 and result.header("Content-Type") == "application/json; charset=UTF-8"
    body = json.loads(result.body)
    data = body["data"]
    assert body["status"] == "ok" and list(data) == ["tokenUuid", "tokenName", "tokenValue", "expirationDate",
                                                     "aboutToExpire"]
    assert UUID_RE.match(data["tokenUuid"]) and data["tokenName"] == "deploy"
    assert re.fullmatch(r"11[0-9a-f]{32}", data["tokenValue"])
    assert (data["expirationDate"], data["aboutToExpire"]) == ("never", False)
    assert srv.token_works("alice", data["tokenValue"])
    unnamed = json.loads(post(srv, f"me/{PROPERTY}/generateNewToken/", auth).body)["data"]
    assert unnamed["tokenName"].startswith("Token created on 20")


def test_generate_new_token_expiration(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    url = f"user/alice/{PROPERTY}/generateNewToken"
    week = json.loads(post(srv, url, auth, "expirationDuration=7").body)["data"]
    expected = datetime.now(timezone.utc).date() + timedelta(days=7)
    assert week["expirationDate"] == f"{expected.month}/{expected.day}/{expected.year % 100:02d}"
    assert week["aboutToExpire"] is True
    assert json.loads(post(srv, url, auth, "expirationDuration=90").body)["data"]["aboutToExpire"] is False
    past = post(srv, url, auth, "expirationDuration=custom", "tokenExpiration=2020-01-01")
    assert (past.status, json.loads(past.body)) == (200, {"status": "error",
                                                         "message": "Expiration date is in the past."})
    assert post(srv, url, auth, "expirationDuration=soon").status == 500
    custom = json.loads(post(srv, url, auth, "expirationDuration=custom", "tokenExpiration=2999-12-31").body)
    stored = {t.uuid: t for t in srv.token_details("alice")}[custom["data"]["tokenUuid"]]
    assert stored.expiration_date == date(2999, 12, 31)
    assert "<expirationDate>2999-12-31</expirationDate>" in (srv.user_dir("alice") / "config.xml").read_text()


def test_generate_before_2_548_has_no_expiration(make_server: ServerFactory) -> None:
    srv = make_server(version="2.504")
    auth, _ = token_auth(srv)
    data = json.loads(post(srv, f"user/alice/{PROPERTY}/generateNewToken", auth, "expirationDuration=7").body)
    assert list(data["data"]) == ["tokenUuid", "tokenName", "tokenValue"]


def test_generate_permission_matrix(make_server: ServerFactory) -> None:
    srv = make_server()
    admin, _ = token_auth(srv, "admin")
    bob, _ = token_auth(srv, "bob")
    for auth in (admin, bob):
        denied = post(srv, f"user/alice/{PROPERTY}/generateNewToken", auth)
        assert (denied.status, denied.body, denied.header("X-Required-Permission")) == (403, "", None)
    assert srv.list_tokens("alice") == []
    permissive = make_server(admin_can_generate_new_tokens=True)
    admin2, _ = token_auth(permissive, "admin")
    assert post(permissive, f"user/alice/{PROPERTY}/generateNewToken", admin2).status == 200
    bob2, _ = token_auth(permissive, "bob")
    assert post(permissive, f"user/alice/{PROPERTY}/generateNewToken", bob2).status == 403


def test_revoke_permission_matrix(srv: JenkinsTestServer) -> None:
    alice_token = srv.create_token("alice", name="victim")
    bob, _ = token_auth(srv, "bob")
    denied = post(srv, f"user/alice/{PROPERTY}/revoke", bob, f"tokenUuid={alice_token.uuid}")
    assert denied.status == 403
    assert denied.header("X-You-Are-Authenticated-As") == "bob"
    assert denied.header("X-Required-Permission") == "hudson.model.Hudson.Administer"
    assert srv.token_works("alice", alice_token.value)
    admin, _ = token_auth(srv, "admin")
    assert post(srv, f"user/alice/{PROPERTY}/revoke", admin, f"tokenUuid={alice_token.uuid}").status == 200
    assert not srv.token_works("alice", alice_token.value)


def test_leaked_token_revokes_itself(srv: JenkinsTestServer) -> None:
    leaked = srv.create_token("alice", name="leaked")
    auth = basic("alice", leaked.value)
    whoami(srv, auth)
    result = post(srv, f"user/alice/{PROPERTY}/revoke/?tokenUuid={leaked.uuid}", auth)
    assert (result.status, result.body) == (200, "")
    assert whoami(srv, auth).status == 401
    stats = srv.stats_file("alice").read_text()
    assert leaked.uuid not in stats  # revoking drops the stats entry


def test_revoke_edge_cases(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    blank = post(srv, f"user/alice/{PROPERTY}/revoke", auth)
    assert blank.status == 400 and "The tokenUuid cannot be empty" in blank.body
    unknown = post(srv, f"user/alice/{PROPERTY}/revoke", auth, "tokenUuid=00000000-0000-4000-8000-000000000000")
    assert (unknown.status, unknown.body) == (200, "")
    assert len(srv.list_tokens("alice")) == 1


def test_rename_responses_by_version(make_server: ServerFactory) -> None:
    for version, ok_body, blank_uuid_status in (("2.578", '{"status":"ok"}', 200), ("2.504", "", 400)):
        srv = make_server(version=version)
        auth, token_uuid = token_auth(srv)
        url = f"user/alice/{PROPERTY}/rename"
        renamed = post(srv, url, auth, f"tokenUuid={token_uuid}", "newName=renamed")
        assert (renamed.status, renamed.body) == (200, ok_body), version
        assert srv.list_tokens("alice")[0].name == "renamed"
        assert json.loads(post(srv, url, auth, f"tokenUuid={token_uuid}").body) == {
            "status": "error", "message": "The name cannot be empty"}
        assert json.loads(post(srv, url, auth, "tokenUuid=nope", "newName=x").body)["message"] == (
            "No token found, try refreshing the page")
        assert post(srv, url, auth, "newName=x").status == blank_uuid_status


def test_revoke_all_and_revoke_all_except(srv: JenkinsTestServer) -> None:
    auth, keep_uuid = token_auth(srv)
    for name in ("a", "b"):
        srv.create_token("alice", name=name)
    assert post(srv, f"user/alice/{PROPERTY}/revokeAllExcept", auth, f"tokenUuid={keep_uuid}").status == 200
    assert [t.uuid for t in srv.list_tokens("alice")] == [keep_uuid]
    srv.create_token("alice", name="c")
    # an unknown uuid keeps nothing, including the caller's own token
    assert post(srv, f"user/alice/{PROPERTY}/revokeAllExcept", auth, "tokenUuid=unknown").status == 200
    assert srv.list_tokens("alice") == []
    admin, _ = token_auth(srv, "admin")
    srv.create_token("alice", name="d")
    assert post(srv, f"user/alice/{PROPERTY}/revokeAll", admin).status == 200
    assert srv.list_tokens("alice") == []


def test_revoke_all_missing_before_2_260(make_server: ServerFactory) -> None:
    srv = make_server(version="2.259")
    auth, _ = token_auth(srv)
    assert post(srv, f"user/alice/{PROPERTY}/revokeAll", auth).status == 404


def test_add_fixed_token(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    value = "11" + fake_secret()
    result = json.loads(post(srv, f"user/alice/{PROPERTY}/addFixedToken", auth, "newTokenName=fixed",
                             f"newTokenPlainValue={value}").body)
    assert result["status"] == "ok" and result["data"]["tokenName"] == "fixed" and "tokenValue" not in result["data"]
    assert srv.token_works("alice", value)
    assert post(srv, f"user/alice/{PROPERTY}/addFixedToken", auth, "newTokenPlainValue=short").status == 500


@pytest.mark.parametrize("keeps_secret", [True, False])
def test_revoke_all_legacy_caveat(make_server: ServerFactory, keeps_secret: bool) -> None:
    srv = make_server(revoke_all_keeps_legacy_secret=keeps_secret)
    legacy = srv.create_legacy_token("alice")
    auth, _ = token_auth(srv, "alice", name="new")
    assert post(srv, f"user/alice/{PROPERTY}/revokeAll", auth).status == 200
    assert not srv.token_works("alice", legacy.value)
    srv.restart()
    assert srv.token_works("alice", legacy.value) is keeps_secret
    if keeps_secret:
        (entry,) = srv.list_tokens("alice")
        assert entry.legacy and entry.uuid != legacy.uuid  # re-created with a fresh UUID


def test_revoking_legacy_token_by_uuid_is_final(srv: JenkinsTestServer) -> None:
    legacy = srv.create_legacy_token("alice")
    assert post(srv, f"user/alice/{PROPERTY}/revoke", basic("alice", legacy.value),
                f"tokenUuid={legacy.uuid}").status == 200
    srv.restart()
    assert not srv.token_works("alice", legacy.value)
    assert "<apiToken>" not in (srv.user_dir("alice") / "config.xml").read_text()


def test_change_token_and_admin_monitor(srv: JenkinsTestServer) -> None:
    old = srv.create_legacy_token("alice")
    auth, _ = token_auth(srv)
    changed = post(srv, f"user/alice/{PROPERTY}/changeToken", auth)
    callback = json.loads(changed.header("X-Jenkins-ValidateButton-Callback") or "{}")
    new_value = callback["arguments"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", new_value) and srv.token_works("alice", new_value)
    assert not srv.token_works("alice", old.value)
    legacy_uuid = next(t.uuid for t in srv.list_tokens("alice") if t.legacy)
    admin, _ = token_auth(srv, "admin")
    body = json.dumps({"values": [{"userId": "alice", "uuid": legacy_uuid}]})
    url = srv.url + "manage/administrativeMonitor/legacyApiToken/revokeAllSelected"
    assert curl(url, "--data", body, "-H", "Content-Type: application/json", auth=auth).status == 403
    assert curl(url, "--data", body, "-H", "Content-Type: application/json", auth=admin).status == 200
    assert not any(t.legacy for t in srv.list_tokens("alice"))


# -- HTML token lists (§6) ------------------------------------------------------------------

def read_cards(document: str) -> dict[str, dict[str, object]]:
    """Token cards the way a client reads them: div.token-card with an id, skipping the template."""
    cards = {}
    for card in parse_html(document).find_all("div", "token-card"):
        if not card.attrs.get("id"):
            continue
        counter = card.find("span", "token-use-counter")
        revoke = card.find("button", "api-token-property-token-revoke")
        cards[card.attrs["id"]] = {
            "name": card.find("span", "token-name").all_text(),
            "counter": int(counter.all_text()) if counter else 0,
            "last_used": card.find("span", "token-last-used").all_text(),
            "legacy": "legacy-token" in card.classes,
            "revoke_uuid": revoke.attrs["data-token-uuid"],
            "revoke_url": revoke.attrs["data-target-url"],
        }
    return cards


def read_list_items(document: str) -> dict[str, dict[str, object]]:
    items = {}
    for item in parse_html(document).find_all("div", "token-list-existing-item"):
        uuid = item.find("input", "token-uuid-input").attrs["value"]
        name = next(n for n in item.find_all("input") if n.attrs.get("name") == "tokenName").attrs["value"]
        counter = item.find("span", "token-use-counter")
        match = re.search(r"Used <b>(\d+)</b> time\(s\), last time was <b>(\d+)</b> day\(s\) ago",
                          _inner_html(document, uuid))
        items[uuid] = {"name": name, "counter": int(match.group(1)) if match else 0,
                       "counter_text": counter.all_text().strip() if counter else None,
                       "legacy": "legacy-token" in item.classes,
                       "revoke_url": item.find("a", "token-revoke").attrs["data-target-url"]}
    return items


def _inner_html(document: str, uuid: str) -> str:
    start = document.index(f'value="{uuid}"')
    return document[start:document.index("</a>", start)]


def test_token_cards_2_505_plus(srv: JenkinsTestServer) -> None:
    used = srv.create_token("alice", name="b-used")
    idle = srv.create_token("alice", name="a-idle")
    legacy = srv.create_legacy_token("alice")
    for _ in range(3):
        whoami(srv, basic("alice", used.value))
    page = curl(srv.url + "user/alice/security/", auth=basic("alice", PASSWORDS["alice"]))
    assert page.status == 200
    cards = read_cards(page.body)
    assert list(cards) == [idle.uuid, used.uuid, legacy.uuid]  # sorted by lower-cased name
    assert cards[used.uuid]["counter"] == 3 and "Last used today" in cards[used.uuid]["last_used"]
    assert cards[idle.uuid]["last_used"] == "Never used"
    assert cards[legacy.uuid]["legacy"] is True
    assert cards[used.uuid]["revoke_uuid"] == used.uuid
    assert cards[used.uuid]["revoke_url"] == f"/user/alice/{PROPERTY}/revoke"
    assert "This token does not expire" in page.body
    assert parse_html(page.body).find("div", "jenkins-hidden").attrs["id"] == "api-token-row-template"


def test_usage_counter_identifies_leaked_token(srv: JenkinsTestServer) -> None:
    """The sheet's UUID-discovery recipe: page, K whoAmI calls, page again; the counter grows by K+1."""
    srv.create_token("alice", name="other")
    leaked = srv.create_token("alice", name="unknown")
    auth = basic("alice", leaked.value)
    first = read_cards(curl(srv.url + "user/alice/security/", auth=auth).body)
    for _ in range(4):
        whoami(srv, auth)
    second = read_cards(curl(srv.url + "user/alice/security/", auth=auth).body)
    grown = [u for u in second if second[u]["counter"] - first[u]["counter"] == 5]
    assert grown == [leaked.uuid]


def test_list_items_2_468_to_2_504(make_server: ServerFactory) -> None:
    srv = make_server(version="2.504")
    token = srv.create_token("alice", name="ci")
    auth = basic("alice", token.value)
    items = read_list_items(curl(srv.url + "user/alice/security/", auth=auth).body)
    assert items[token.uuid]["name"] == "ci"
    assert items[token.uuid]["counter"] == 1
    assert items[token.uuid]["counter_text"] == "Used 1 time(s), last time was 0 day(s) ago"
    assert items[token.uuid]["revoke_url"] == f"/user/alice/{PROPERTY}/revoke"
    configure = curl(srv.url + "user/alice/configure", auth=auth)
    assert configure.status == 200 and "token-list-existing-item" not in configure.body  # option "auto"


def test_configure_page_before_2_468(make_server: ServerFactory) -> None:
    srv = make_server(version="2.400")
    token = srv.create_token("alice", name="ci")
    legacy = srv.create_legacy_token("alice")
    auth = basic("alice", token.value)
    items = read_list_items(curl(srv.url + "user/alice/configure", auth=auth).body)
    assert set(items) == {token.uuid, legacy.uuid} and items[legacy.uuid]["legacy"]
    assert items[legacy.uuid]["counter_text"] == "Never used"
    assert curl(srv.url + "user/alice/security/", auth=auth).status == 404
    # the owner sees the legacy value, an admin does not
    owner_page = parse_html(curl(srv.url + "me/configure", auth=auth).body)
    assert owner_page.find("input").attrs and any(
        n.attrs.get("id") == "apiToken" and n.attrs["value"] == legacy.value for n in owner_page.find_all("input"))
    admin_page = curl(srv.url + "user/alice/configure", auth=basic("admin", PASSWORDS["admin"])).body
    assert legacy.value not in admin_page and "Token is hidden" in admin_page


def test_configure_page_options(make_server: ServerFactory) -> None:
    tokens_mode = make_server(configure_page="tokens")
    tok = tokens_mode.create_token("alice", name="ci")
    assert tok.uuid in read_list_items(curl(tokens_mode.url + "user/alice/configure",
                                            auth=basic("alice", tok.value)).body)
    absent = make_server(configure_page="absent")
    assert curl(absent.url + "user/alice/configure", auth=basic("alice", PASSWORDS["alice"])).status == 404


def test_security_page_visibility_and_session(srv: JenkinsTestServer, tmp_path: Path) -> None:
    srv.create_token("alice", name="ci")
    bob = curl(srv.url + "user/alice/security/", auth=basic("bob", PASSWORDS["bob"]))
    assert bob.status == 403 and bob.header("X-Required-Permission") == "hudson.model.Hudson.Administer"
    assert curl(srv.url + "user/alice/security/", auth=basic("admin", PASSWORDS["admin"])).status == 200
    assert curl(srv.url + "user/alice/security/").status == 403
    # the page's crumb works with the session cookie it set
    jar = tmp_path / "jar"
    password = basic("alice", PASSWORDS["alice"])
    page = curl(srv.url + "me/security/", auth=password, cookies=jar)
    head = parse_html(page.body).find("head")
    assert head.attrs["data-crumb-header"] == "Jenkins-Crumb"
    result = curl(srv.url + f"me/{PROPERTY}/revokeAll", "-X", "POST", "-H",
                  f"Jenkins-Crumb: {head.attrs['data-crumb-value']}", auth=password, cookies=jar)
    assert result.status == 200 and srv.list_tokens("alice") == []


def test_injected_clock_drives_ages_and_expiry(make_server: ServerFactory) -> None:
    now = [datetime(2030, 5, 10, 12, 0, tzinfo=timezone.utc)]
    srv = make_server(version="2.504", clock=lambda: now[0])
    token = srv.create_token("alice", name="ci", expiration_date=date(2030, 5, 11))
    auth = basic("alice", token.value)
    assert whoami(srv, auth).status == 200
    now[0] += timedelta(days=1)
    assert whoami(srv, auth).status == 200  # still valid on its expiration day
    now[0] += timedelta(days=2)
    assert whoami(srv, auth).status == 401
    page = curl(srv.url + "user/alice/security/", auth=basic("alice", PASSWORDS["alice"])).body
    assert "Created 3 day(s) ago" in page
    assert read_list_items(page)[token.uuid]["counter_text"] == "Used 2 time(s), last time was 2 day(s) ago"


def test_stats_disabled_page(make_server: ServerFactory) -> None:
    srv = make_server(usage_statistics_enabled=False)
    token = srv.create_token("alice", name="ci")
    auth = basic("alice", token.value)
    cards = read_cards(curl(srv.url + "user/alice/security/", auth=auth).body)
    assert cards[token.uuid]["last_used"] == "No statistics available"


# -- statistics and persistence (§1.1, §6) ------------------------------------------------

def test_stats_saved_on_each_use_and_survive_restart(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="ci")
    auth = basic("alice", token.value)
    for expected in (1, 2):
        whoami(srv, auth)
        xml = ET.fromstring(srv.stats_file("alice").read_bytes())
        (entry,) = xml.iter("jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats")
        assert entry.findtext("tokenUuid") == token.uuid and entry.findtext("useCounter") == str(expected)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", entry.findtext("lastUseDate"))
    whoami(srv, basic("alice", PASSWORDS["alice"]))  # password logins are not token uses
    srv.restart()
    assert srv.list_tokens("alice")[0].use_counter == 2


def test_stats_disable_switch_keeps_existing_file(make_server: ServerFactory, tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    first = make_server(home=home)
    token = first.create_token("alice", name="ci")
    whoami(first, basic("alice", token.value))
    before = first.stats_file("alice").read_text()
    first.stop()
    second = make_server(home=home, usage_statistics_enabled=False)
    assert whoami(second, basic("alice", token.value)).status == 200
    assert second.stats_file("alice").read_text() == before
    assert "<usageStatisticsEnabled>false</usageStatisticsEnabled>" in (
        home / "jenkins.security.apitoken.ApiTokenPropertyConfiguration.xml").read_text()
    second.set_api_token_config(usage_statistics_enabled=True)
    whoami(second, basic("alice", token.value))
    assert second.list_tokens("alice")[0].use_counter == 2


def test_home_layout_on_disk(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="ci")
    users = ET.fromstring((srv.home / "users" / "users.xml").read_bytes())
    mapping = {e.findall("string")[0].text: e.findall("string")[1].text for e in users.iter("entry")}
    assert re.fullmatch(r"alice_\d{19}", mapping["alice"])
    text = (srv.home / "users" / mapping["alice"] / "config.xml").read_text()
    assert text.startswith("<?xml version='1.1' encoding='UTF-8'?>\n<user>")
    root = ET.fromstring(text.encode())
    (entry,) = root.iterfind("properties/jenkins.security.ApiTokenProperty/tokenStore/tokenList/"
                             "jenkins.security.apitoken.ApiTokenStore_-HashedToken")
    assert [c.tag for c in entry] == ["uuid", "name", "creationDate", "value"]
    assert entry.findtext("value/version") == "11"
    assert entry.findtext("value/hash") == hashlib.sha256(token.value[2:].encode()).hexdigest()
    assert token.value not in text and token.value[2:] not in text
    assert (srv.home / "jenkins.security.apitoken.ApiTokenPropertyConfiguration.xml").is_file()
    empty = (srv.user_dir("bob") / "config.xml").read_text()
    assert "<tokenStore>\n        <tokenList/>\n      </tokenStore>" in empty


def test_hand_written_home_in_jenkins_format(make_server: ServerFactory, tmp_path: Path) -> None:
    """A home laid out as real Jenkins writes it (no users.xml, unverifiable jbcrypt hash) loads."""
    secret = fake_secret()
    user_dir = tmp_path / "handmade" / "users" / "carol_1072549610582667998"
    user_dir.mkdir(parents=True)
    (user_dir / "config.xml").write_text(f"""<?xml version='1.1' encoding='UTF-8'?>
<user>
  <version>10</version>
  <id>Carol</id>
  <fullName>Carol C</fullName>
  <properties>
    <jenkins.security.ApiTokenProperty>
      <tokenStore>
        <tokenList>
          <jenkins.security.apitoken.ApiTokenStore_-HashedToken>
            <uuid>d987d752-b057-430e-b701-622872e79196</uuid>
            <name>Token created on 2022-08-18T11:50:55.534+02:00</name>
            <creationDate>2022-08-18 09:50:55.535 UTC</creationDate>
            <value>
              <version>11</version>
              <hash>{hashlib.sha256(secret.encode()).hexdigest()}</hash>
            </value>
          </jenkins.security.apitoken.ApiTokenStore_-HashedToken>
        </tokenList>
      </tokenStore>
    </jenkins.security.ApiTokenProperty>
    <hudson.model.MyViewsProperty><views/></hudson.model.MyViewsProperty>
    <hudson.security.HudsonPrivateSecurityRealm_-Details>
      <passwordHash>#jbcrypt:placeholder-not-a-real-hash</passwordHash>
    </hudson.security.HudsonPrivateSecurityRealm_-Details>
  </properties>
</user>
""")
    (tmp_path / "handmade" / "config.xml").write_text(
        "<?xml version='1.1' encoding='UTF-8'?><hudson><authorizationStrategy "
        'class="hudson.security.GlobalMatrixAuthorizationStrategy"><permission>USER:hudson.model.Hudson.Read:carol'
        "</permission></authorizationStrategy></hudson>")
    srv = make_server(home=tmp_path / "handmade", seeded=False)
    assert srv.users() == ["Carol"]
    me = json.loads(curl(srv.url + "me/api/json", auth=basic("carol", "11" + secret)).body)
    assert (me["id"], me["fullName"], me["absoluteUrl"]) == ("Carol", "Carol C", srv.url + "user/carol")
    (token,) = srv.list_tokens("carol")
    assert (token.uuid, token.use_counter) == ("d987d752-b057-430e-b701-622872e79196", 1)


def test_restart_keeps_users_passwords_and_permissions(srv: JenkinsTestServer) -> None:
    token = srv.create_token("admin", name="ci")
    srv.restart()
    assert set(srv.users()) == {"alice", "bob", "admin", "norights"}
    assert whoami(srv, basic("alice", PASSWORDS["alice"])).status == 200
    admin = basic("admin", token.value)
    alice_token = srv.create_token("alice", name="x")
    assert post(srv, f"user/alice/{PROPERTY}/revoke", admin, f"tokenUuid={alice_token.uuid}").status == 200
    assert curl(srv.url + "api/json", auth=basic("norights", PASSWORDS["norights"])).status == 403


# -- fault injection ------------------------------------------------------------------------

def test_latency_fault(srv: JenkinsTestServer) -> None:
    rule = srv.faults.add_latency(0.4, prefix="/whoAmI/")
    started = time.monotonic()
    assert whoami(srv, None).status == 200
    assert time.monotonic() - started >= 0.4 and rule.hits == 1
    started = time.monotonic()
    curl(srv.url + "login")
    assert time.monotonic() - started < 0.4


def test_error_fault_for_n_requests(srv: JenkinsTestServer) -> None:
    srv.faults.add_error(503, count=2)
    statuses = [whoami(srv, None) for _ in range(3)]
    assert [r.status for r in statuses] == [503, 503, 200]
    assert statuses[0].header("X-Jenkins") is None
    srv.faults.add_error(502, prefix="/user/")
    assert curl(srv.url + "user/alice/api/json").status == 502
    assert whoami(srv, None).status == 200
    srv.faults.clear()
    assert curl(srv.url + "user/alice/api/json").status == 403


def test_drop_after_action(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="leaked")
    srv.faults.add_drop(prefix=f"/user/alice/{PROPERTY}/revoke", method="POST", count=1)
    with pytest.raises(subprocess.CalledProcessError) as failure:
        post(srv, f"user/alice/{PROPERTY}/revoke", basic("alice", token.value), f"tokenUuid={token.uuid}")
    assert failure.value.returncode == 52  # curl: empty reply from server
    assert not srv.token_works("alice", token.value)  # the action happened anyway
    assert srv.requests[-1].status is None and srv.requests[-1].fault == "drop"


def test_drop_before_action_with_reset(srv: JenkinsTestServer) -> None:
    token = srv.create_token("alice", name="leaked")
    srv.faults.add_drop(method="POST", after_action=False, reset=True)
    request = urllib.request.Request(srv.url + f"user/alice/{PROPERTY}/revoke?tokenUuid={token.uuid}",
                                     method="POST", headers={"Authorization": basic("alice", token.value)})
    with pytest.raises((ConnectionError, urllib.error.URLError, socket.error)):
        urllib.request.urlopen(request, timeout=5)
    assert srv.token_works("alice", token.value)


def test_sso_redirect_modes(srv: JenkinsTestServer) -> None:
    auth, _ = token_auth(srv)
    srv.faults.add_sso_redirect("external", count=1)
    external = whoami(srv, auth)
    location = external.header("Location") or ""
    assert external.status == 302 and not location.startswith(srv.url)
    assert location.startswith(srv.sso_url + "sso/login?") and "redirect_uri=" in location
    login = curl(location)
    assert login.status == 200 and 'type="password"' in login.body and login.header("X-Jenkins") is None
    curl(location, auth=auth)  # a careless client forwarding credentials shows up in sso_requests
    assert [(r.path, r.basic_user) for r in srv.sso_requests] == [("/sso/login", None), ("/sso/login", "alice")]
    srv.faults.add_sso_redirect("same_origin", count=1)
    same = whoami(srv, auth)
    same_location = same.header("Location") or ""
    assert same_location.startswith(srv.url + "sso/login?") and curl(same_location).status == 200
    srv.faults.add_sso_redirect("inline", count=1)
    inline = whoami(srv, auth)
    assert inline.status == 200 and "Sign in" in inline.body and inline.header("X-Jenkins") is None
    assert json.loads(whoami(srv, auth).body)["name"] == "alice"
    assert srv.list_tokens("alice")[0].use_counter == 1  # intercepted requests never reached Jenkins


def test_faults_are_thread_safe_under_concurrency(srv: JenkinsTestServer) -> None:
    rule = srv.faults.add_error(503, count=10)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = whoami(srv, None).status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses).count(503) == 10 and rule.hits == 10


# -- request log ----------------------------------------------------------------------------

def test_request_log(srv: JenkinsTestServer) -> None:
    assert len(srv.requests) == 0
    token = srv.create_token("alice", name="ci")
    whoami(srv, basic("alice", token.value))
    whoami(srv, basic("alice", "wrong"))
    whoami(srv, None)
    records = srv.requests.entries()
    assert [(r.method, r.path, r.user, r.basic_user, r.status) for r in records] == [
        ("GET", "/whoAmI/api/json", "alice", "alice", 200),
        ("GET", "/whoAmI/api/json", None, "alice", 401),
        ("GET", "/whoAmI/api/json", None, None, 200)]
    assert records[0].via_token and not records[1].via_token
    srv.requests.clear()
    assert list(srv.requests) == []


def test_keep_alive_connection_reuse(srv: JenkinsTestServer) -> None:
    """Several requests over one HTTP/1.1 connection, including one with a body."""
    import http.client

    auth, token_uuid = token_auth(srv)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    for _ in range(2):
        conn.request("GET", "/whoAmI/api/json", headers={"Authorization": auth})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["name"] == "alice"
    conn.request("POST", f"/user/alice/{PROPERTY}/rename", body=f"tokenUuid={token_uuid}&newName=kept",
                 headers={"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b'{"status":"ok"}'
    conn.request("GET", "/whoAmI", headers={"Authorization": auth})
    response = conn.getresponse()
    assert response.status == 302 and response.read() == b""
    conn.close()
    assert srv.list_tokens("alice")[0].name == "kept"


def test_stop_closes_open_connections(make_server: ServerFactory) -> None:
    import http.client

    srv = make_server()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", "/whoAmI/api/json")
    conn.getresponse().read()
    srv.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/whoAmI/api/json")
        conn.getresponse()


# -- command-line entry ---------------------------------------------------------------------

def test_run_forever_seeds_demo_admin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_forever, args=(tmp_path / "home", 0, ServerOptions(version="2.504"), True),
                              kwargs={"ready": ready, "stop": stop})
    thread.start()
    try:
        assert ready.wait(10)
        output = capsys.readouterr().out
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", output).group(1)
        password = re.search(r"with password '([^']+)'", output).group(1)
        client = jenkins.Jenkins(url, username="admin", password=password, timeout=10)
        assert client.get_whoami()["id"] == "admin" and client.get_version() == "2.504"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
