"""Misses a red-team review confirmed, through `jts scan` as a user runs it (values generated at run time).

Each shape was once missed: a crumb header or a ``<hash>`` on the token's line hid every token of the
line; a cloud provider's generic host (EC2, ELB, Azure cloudapp) or a vendor URL in a comment was
taken for another service; a token right after an escape ending in a hex digit (``%3A``, ``\\u003d``);
a Makefile ``?=`` assignment; a token base64-encoded in a Kubernetes Secret.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from tests.helpers import findings_by_secret as scan
from tests.helpers import new_token, write_files

URL = "https://jenkins.example.com"


def test_a_crumb_or_hash_on_the_line_hides_only_itself(tmp_path: Path) -> None:
    curl, python, wget, minified, commented = (new_token() for _ in range(5))
    legacy, crumb, legacy_crumb = secrets.token_hex(16), secrets.token_hex(32), secrets.token_hex(16)
    write_files(tmp_path, {
        "ci/trigger.sh": f'curl -X POST -u admin:{curl} -H "Jenkins-Crumb: {crumb}" {URL}/job/deploy/build\n',
        "ci/trigger.py": f"r = requests.post(url, auth=('admin', '{python}'), headers={{'Jenkins-Crumb': crumb}})\n",
        "ci/wget.sh": (f'wget --auth-no-challenge --user=admin --password={wget} --header="Jenkins-Crumb:{legacy_crumb}"'
                       f' --post-data="" {URL}/job/x/build\n'),
        "ci/state.json": f'{{"crumb":"{legacy_crumb}","jenkins":{{"url":"{URL}","user":"bob","token":"{minified}"}}}}\n',
        "ci/.env": f"JENKINS_API_TOKEN={commented}   # <hash>\n",
        "ci/legacy.sh": f'curl -X POST -u ops:{legacy} -H "Jenkins-Crumb:{legacy_crumb}" {URL}/job/deploy/build\n',
    })
    found = scan(tmp_path)
    # every credential is found; the crumbs beside them (32 and 64 hex) are not
    assert {k: (f["rule_id"], f["user"]) for k, f in found.items()} == {
        curl: ("api_token", "admin"), python: ("api_token", "admin"), wget: ("api_token", "admin"),
        minified: ("api_token", "bob"), commented: ("api_token", None), legacy: ("legacy_api_token", "ops")}


def test_cloud_machine_names_and_vendor_comments_are_not_other_services(tmp_path: Path) -> None:
    ec2, elb, azure, netrc, commented = (new_token() for _ in range(5))
    legacy = secrets.token_hex(16)
    bitbucket, gateway = new_token(), new_token()
    ec2_host = "ec2-54-12-34-56.compute-1.amazonaws.com"
    write_files(tmp_path, {
        "ci/trigger.sh": (f"curl -X POST -u admin:{ec2} http://{ec2_host}:8080/job/deploy/build\n"
                          f"curl -X POST http://admin:{elb}@ci-alb-1234567.us-east-1.elb.amazonaws.com/job/deploy/build\n"
                          f"curl -X POST -u admin:{azure} http://build01.westeurope.cloudapp.azure.com:8080/job/a/build\n"
                          f"curl -X POST -u ops:{legacy} http://{ec2_host}:8080/job/deploy/build\n"),
        "home/.netrc": f"machine {ec2_host} login admin password {netrc}\n",
        "app.env": f"DEPLOY_TOKEN={commented}   # rotate via https://sentry.io/settings\n",
        # another service's own call stays theirs, whatever a comment says
        "ci/other.sh": (f"curl -X POST -u bot:{bitbucket} https://api.bitbucket.org/2.0/repositories/a/b/pipelines/"
                        "  # run by jenkins\n"
                        f'curl -H "x-api-key: {gateway}" https://a1b2.execute-api.us-east-1.amazonaws.com/prod/x\n'),
    })
    found = scan(tmp_path)
    assert {k: (f["rule_id"], f["user"], f["jenkins_url"]) for k, f in found.items()} == {
        ec2: ("api_token", "admin", f"http://{ec2_host}:8080"),
        elb: ("api_token", "admin", "http://ci-alb-1234567.us-east-1.elb.amazonaws.com"),
        azure: ("api_token", "admin", "http://build01.westeurope.cloudapp.azure.com:8080"),
        legacy: ("legacy_api_token", "ops", f"http://{ec2_host}:8080"),
        netrc: ("api_token", "admin", f"https://{ec2_host}"),
        commented: ("api_token", None, None)}


def test_a_token_right_after_an_escape_is_found_and_a_longer_run_is_not(tmp_path: Path) -> None:
    userinfo, access, form, gson, quoted = (new_token() for _ in range(5))
    sha1, sha256 = secrets.token_hex(20), secrets.token_hex(32)
    write_files(tmp_path, {
        "logs/redirect.txt": f"https%3A%2F%2Fadmin%3A{userinfo}%40ci.example.com%2Fjob%2Fdeploy%2Fbuild\n",
        "logs/access.log": f'127.0.0.1 - - "GET /job/x/build?auth=admin%3a{access} HTTP/1.1" 201\n',
        "logs/form.log": f"POST /me/descriptorByName/x body=json%3D%7B%22apiToken%22%3A%22{form}%22%7D\n",
        "dump/env.json": f'{{"env":["JENKINS_API_TOKEN\\u003d{gson}"]}}\n',
        "dump/job.json": f'{{"script":"curl -u \\u0027admin:{quoted}\\u0027 {URL}/job/x/build"}}\n',
        # a longer hex run after an escape is a checksum, not a token followed by more hex
        "dump/sums.json": f'{{"sha1":"%2011{sha1}","sha256":"\\u0027{sha256}"}}\n',
    })
    found = scan(tmp_path)
    assert {k: (f["rule_id"], f["user"]) for k, f in found.items()} == {
        userinfo: ("api_token", None), access: ("api_token", None), form: ("api_token", None),
        gson: ("api_token", None), quoted: ("api_token", "admin")}


def test_makefile_assignment_operators(tmp_path: Path) -> None:
    conditional, posix, appended = (secrets.token_hex(16) for _ in range(3))
    write_files(tmp_path, {
        "Makefile": f"JENKINS_URL ?= {URL}\nJENKINS_USER ?= ops\nJENKINS_TOKEN ?= {conditional}\n",
        "mk/jenkins.mk": f"JENKINS_URL ::= {URL}\nJENKINS_API_TOKEN ::= {posix}\n",
        "mk/extra.mk": f"JENKINS_URL := {URL}\nJENKINS_PASSWORD += {appended}\n",
    })
    found = scan(tmp_path)
    assert {k: (f["rule_id"], f["user"], f["jenkins_url"]) for k, f in found.items()} == {
        conditional: ("legacy_api_token", "ops", URL), posix: ("legacy_api_token", None, URL),
        appended: ("legacy_api_token", None, URL)}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_token_base64_encoded_in_a_kubernetes_secret(tmp_path: Path) -> None:
    provider, keyed, newline = (new_token() for _ in range(3))
    write_files(tmp_path, {
        "k8s/deploy-cred.yaml": ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy-user\n  labels:\n"
                                 "    jenkins.io/credentials-type: usernamePassword\ntype: Opaque\ndata:\n"
                                 f"  username: {b64('deploy')}\n  password: {b64(provider)}\n"),
        "k8s/ci.yaml": (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\ndata:\n  JENKINS_URL: {b64(URL)}\n"
                        f"  JENKINS_API_TOKEN: {b64(keyed)}\n  ECHOED: {b64(newline + chr(10))}\n"),
        # base64 that decodes to no whole token: random bytes, an uppercase look-alike, a legacy-length value
        "k8s/other.yaml": (f"apiVersion: v1\nkind: Secret\ndata:\n  key: {base64.b64encode(secrets.token_bytes(34)).decode()}\n"
                           f"  a: {b64(new_token().upper())}\n  b: {b64(secrets.token_hex(17))}\n"),
    })
    found = scan(tmp_path)
    assert {k: (f["rule_id"], f["user"], f["jenkins_url"]) for k, f in found.items()} == {
        provider: ("api_token", "deploy", None), keyed: ("api_token", None, URL), newline: ("api_token", None, URL)}
