"""`jts scan --jenkins-home`: a live home, a restored backup, or a tar archive of one.

The homes are written by the Jenkins test server (real ``secrets/master.key`` and
``secrets/hudson.util.Secret``, credential stores encrypted as Jenkins does it), and once by hand
with the ``openssl`` command line (an implementation independent of both the server and the
scanner, written from the fact sheet), so a shared bug cannot cancel out.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.jenkins.testserver.home_content import Credential, console_note
from tests.helpers import jts, new_token

SCHEMA = json.loads((Path(__file__).parent.parent / "scanner" / "reports" / "report-schema.json").read_text())
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
MAGIC = b"::::MAGIC::::"
FAST = ("--timeout", "5", "--retries", "1")


def hex32() -> str:
    return secrets.token_hex(16)


def pem_key() -> str:
    body = base64.encodebytes(secrets.token_bytes(300)).decode()
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    server = JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")).start()
    server.add_user("alice", password="pw-alice")
    server.add_user("bob", password="pw-bob")
    yield server
    server.stop()


def tar_home(home: Path, archive: Path) -> Path:
    """A backup as an operator makes one: GNU tar of the home directory."""
    subprocess.run(["tar", "-czf", str(archive), "-C", str(home.parent), home.name], check=True)
    return archive


def json_run(*args: str, env: dict | None = None):
    run = jts("scan", "--no-progress", "-f", "json", *args, env=env)
    return run, (json.loads(run.stdout) if run.stdout.strip() else None)


def assert_absent(values: list[str], *texts: str) -> None:
    for value in values:
        for text in texts:
            assert value not in text, "a decrypted value reached an output"


class Planted:
    """Every secret planted in the home, by where it is."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def __call__(self, name: str, value: str) -> str:
        self.values[name] = value
        return value


def populate(server: JenkinsTestServer, planted: Planted) -> None:
    content = server.content
    content.set_root_url(server.url)
    alice_token = server.create_token("alice", name="deploy-bot")
    planted("alice_token", alice_token.value)
    content.add_credentials(
        Credential("username_password", "alice-api", description="deploy as alice", username="alice",
                   password=alice_token.value),
        Credential("username_password", "db", description="database", username="dbuser",
                   password=planted("db_password", "db-" + hex32())),
        Credential("string", "slack", scope="SYSTEM", secret=planted("string_token", new_token())),
        Credential("ssh_key", "git-ssh", username="git", private_key=planted("ssh_key", pem_key()),
                   passphrase=planted("ssh_passphrase", "pp-" + hex32())),
        Credential("certificate", "tls-client", password=planted("keystore_password", "ks-" + hex32()),
                   data=secrets.token_bytes(200)),
        Credential("file", "netrc", file_name=".netrc", data=(
            f"machine jenkins.example.com login carol password {planted('file_token', new_token())}\n").encode()),
        Credential("com.example.vault.VaultTokenCredential", "vault", description="plugin we do not know",
                   plain_fields={"vaultAddress": "https://vault.example.com"},
                   secret_fields={"token": planted("vault_token", "s." + hex32())}),
    )
    content.add_credentials(Credential("string", "team-deploy", secret=planted("folder_token", new_token())),
                            folder="team")
    content.add_job("team/app", shell=f"curl -u bob:{planted('config_token', new_token())} {server.url}job/x/build",
                    auth_token=planted("trigger", "trigger-" + hex32()), encrypt_auth_token=True)
    content.add_job("team/pipe", pipeline=True, script="node { sh 'make' }")
    for number in range(1, 4):
        content.add_build("team/app", number, "Started by user alice\nBuilding in workspace\nFinished: SUCCESS\n",
                          compress=number % 2 == 0)
    content.add_build("team/app", 4, f"+ set -x\n+ curl -u dave:{planted('log_token', new_token())} {server.url}\n",
                      compress=True, password_parameters={"DEPLOY_PW": planted("param_token", new_token())},
                      parameters={"TARGET": "prod"})
    content.add_node("agent-1", env={"DEPLOY_TOKEN": planted("node_token", new_token())})


# -- the evidence: a tarball with credentials of every kind --------------------------------------


def test_tarball_inventory_verify_revoke_and_nothing_decrypted_leaks(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    planted = Planted()
    populate(jenkins, planted)
    archive = tar_home(jenkins.home, tmp_path / "home.tar.gz")
    report = tmp_path / "report.json"
    run, _ = json_run("--jenkins-home", str(archive), "--verify", "--jenkins-url", jenkins.url, *FAST,
                      "-o", str(report))
    assert run.code == 1, run.stderr
    data = json.loads(report.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["mode"] == "jenkins-home"
    inventory = data["inventory"]
    assert inventory["format"] == "tar.gz" and inventory["root"] == "jenkins_home"
    assert inventory["jenkins_url"] == jenkins.url
    assert inventory["keys"]["decryption"] == "available"
    kinds = {c["id"]: (c["kind"], c["store"], c["owner"], c["scope"]) for c in inventory["credentials"]}
    assert kinds == {
        "alice-api": ("UsernamePassword", "global", None, "GLOBAL"),
        "db": ("UsernamePassword", "global", None, "GLOBAL"),
        "slack": ("StringCredentials", "global", None, "SYSTEM"),
        "git-ssh": ("SSHUserPrivateKey", "global", None, "GLOBAL"),
        "tls-client": ("Certificate", "global", None, "GLOBAL"),
        "netrc": ("FileCredentials", "global", None, "GLOBAL"),
        "vault": ("unknown", "global", None, "GLOBAL"),
        "team-deploy": ("StringCredentials", "folder", "team", "GLOBAL"),
    }
    by_id = {c["id"]: c for c in inventory["credentials"]}
    assert by_id["vault"]["class"] == "com.example.vault.VaultTokenCredential"
    assert by_id["alice-api"]["description"] == "deploy as alice" and by_id["alice-api"]["username"] == "alice"
    assert by_id["netrc"]["file_name"] == ".netrc"
    for credential in inventory["credentials"]:
        for field in credential["secrets"]:
            assert field["state"] == "decrypted", (credential["id"], field)
            assert field["value"] is None  # no --show-secrets

    findings = {f["fingerprint"]: f for f in data["findings"]}
    from scanner.findings import fingerprint_of

    api = findings[fingerprint_of(planted.values["alice_token"])]
    assert api["rule_id"] == "api_token" and api["user"] == "alice" and api["jenkins_url"] == jenkins.url
    assert api["verification"]["status"] == "live"
    assert api["verification"]["authenticated_as"] == "alice"
    assert [loc["path"] for loc in api["locations"]] == ["jenkins-home://credentials.xml#credential:alice-api/password"]
    assert api["id"] in by_id["alice-api"]["secrets"][0]["findings"]
    # every planted token is found once, where it is
    expected = {
        "string_token": "jenkins-home://credentials.xml#credential:slack/secret",
        "file_token": "jenkins-home://credentials.xml#credential:netrc/secretBytes",
        "folder_token": "jenkins-home://jobs/team/config.xml#credential:team-deploy/secret",
        "config_token": "jenkins-home://jobs/team/jobs/app/config.xml#builders/hudson.tasks.Shell/command",
        "log_token": "jenkins-home://jobs/team/jobs/app/builds/4/log.gz",
        "param_token": "jenkins-home://jobs/team/jobs/app/builds/4/build.xml#parameter:DEPLOY_PW",
        "node_token": "jenkins-home://nodes/agent-1/config.xml#env:DEPLOY_TOKEN",
    }
    for name, path in expected.items():
        finding = findings[fingerprint_of(planted.values[name])]
        assert [loc["path"] for loc in finding["locations"]] == [path], name
        assert all(loc["source"] == "jenkins-home" for loc in finding["locations"])
    log = findings[fingerprint_of(planted.values["log_token"])]
    assert log["locations"][0]["line"] == 2 and log["user"] == "dave"
    trigger = [f for f in data["findings"] if f["rule_id"] == "build_trigger_token"]
    assert [loc["path"] for f in trigger for loc in f["locations"]] == \
        ["jenkins-home://jobs/team/jobs/app/config.xml#authToken"]
    # the stored API token entries of users are hashes, said so, never findings
    assert inventory["counts"]["api_token_entries"] >= 1
    assert any("SHA-256" in note for note in inventory["notes"])

    # every other output format, the revocation with its audit log: no decrypted value anywhere
    outputs = [report.read_text(), run.stdout, run.stderr]
    for fmt in ("text", "sarif", "gitlab", "jsonl"):
        other = jts("scan", "--no-progress", "--jenkins-home", str(archive), "-f", fmt)
        assert other.code == 1, other.stderr
        outputs += [other.stdout, other.stderr]
        if fmt == "sarif":
            jsonschema.validators.validator_for(SARIF_SCHEMA)(SARIF_SCHEMA).validate(json.loads(other.stdout))
            sarif = json.loads(other.stdout)["runs"][0]
            uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["results"]}
            assert "jenkins-home://jobs/team/jobs/app/builds/4/log.gz" in uris
            names = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in sarif["results"]}
            assert "job team/app #4 log.gz" in names
            assert sarif["properties"]["jenkinsHome"]["credentials"]
        if fmt == "gitlab":
            from tests.test_gitlab_report import VALIDATOR

            VALIDATOR.validate(json.loads(other.stdout))
            files = {v["location"]["file"] for v in json.loads(other.stdout)["vulnerabilities"]}
            assert "jenkins-home://credentials.xml#credential:alice-api/password" in files
        if fmt == "text":
            assert "Stored credentials: 8 credentials" in other.stdout
            assert "[folder team] team-deploy  StringCredentials" in other.stdout
            assert "(job team/app #4 log.gz)" in other.stdout
    audit = tmp_path / "audit.jsonl"
    revoke = jts("scan", "--no-progress", "--jenkins-home", str(archive), "--revoke", "--as", "self", "--yes",
                 "--jenkins-url", jenkins.url, "--audit-log", str(audit), *FAST, "-f", "json",
                 env={"XDG_STATE_HOME": str(tmp_path / "state")})
    outputs += [revoke.stdout, revoke.stderr, audit.read_text()]
    revoked = {f["fingerprint"]: f for f in json.loads(revoke.stdout)["findings"]}
    assert revoked[fingerprint_of(planted.values["alice_token"])]["revocation"]["status"] == "revoked"
    assert not jenkins.token_works("alice", planted.values["alice_token"])
    assert_absent(list(planted.values.values()), *outputs)
    assert_absent([line for v in planted.values.values() for line in v.splitlines() if len(line) > 20], *outputs)


def test_show_secrets_puts_decrypted_values_in_the_inventory_only_when_asked(
        tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    planted = Planted()
    populate(jenkins, planted)
    report = tmp_path / "secrets.json"
    run = jts("scan", "--no-progress", "--jenkins-home", str(jenkins.home), "--show-secrets", "-f", "json",
              "-o", str(report))
    assert run.code == 1, run.stderr
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    data = json.loads(report.read_text())
    assert data["inventory"]["format"] == "directory" and data["inventory"]["root"] is None
    values = {(c["id"], s["field"]): s["value"] for c in data["inventory"]["credentials"] for s in c["secrets"]}
    assert values[("db", "password")] == planted.values["db_password"]
    assert values[("git-ssh", "privateKeySource/privateKey")] == planted.values["ssh_key"]
    assert values[("vault", "token")] == planted.values["vault_token"]
    assert values[("tls-client", "keyStoreSource/uploadedKeystoreBytes")].startswith("base64:")
    text = jts("scan", "--no-progress", "--jenkins-home", str(jenkins.home), "--show-secrets")
    assert planted.values["db_password"] in text.stdout
    assert "\\n" in text.stdout and "-----BEGIN OPENSSH PRIVATE KEY-----\\n" in text.stdout  # escaped, one line


# -- an independent implementation: openssl, from the fact sheet -----------------------------------


def openssl_aes(mode: str, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """AES-128 with PKCS#7 padding by the openssl command line (not Python's cryptography)."""
    args = ["openssl", "enc", f"-aes-128-{mode}", "-K", key.hex(), "-nosalt"]
    if iv is not None:
        args += ["-iv", iv.hex()]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def write_openssl_home(home: Path, values: dict[str, str], file_data: bytes, legacy_text: str) -> None:
    """A JENKINS_HOME encrypted by hand, step by step as /work/shared/jenkins-api.md section 7 says."""
    (home / "secrets").mkdir(parents=True)
    master_text = secrets.token_hex(128)
    (home / "secrets" / "master.key").write_text(master_text + "\n")
    k_master = hashlib.sha256(master_text.encode()).digest()[:16]
    secret_payload = secrets.token_bytes(256)
    (home / "secrets" / "hudson.util.Secret").write_bytes(openssl_aes("ecb", k_master, secret_payload + MAGIC))
    bytes_payload = secrets.token_bytes(256)
    (home / "secrets" / "com.cloudbees.plugins.credentials.SecretBytes.KEY").write_bytes(
        openssl_aes("ecb", k_master, bytes_payload + MAGIC))
    secret_key_text = secrets.token_hex(32)
    (home / "secret.key").write_text(secret_key_text)
    k_secret = secret_payload[:16]

    def v1(plain: str) -> str:
        iv = secrets.token_bytes(16)
        data = openssl_aes("cbc", k_secret, plain.encode(), iv)
        return "{" + base64.b64encode(bytes([1]) + (16).to_bytes(4, "big") + len(data).to_bytes(4, "big") + iv
                                      + data).decode() + "}"

    def historical(plain: str, key: bytes) -> str:
        return base64.b64encode(openssl_aes("ecb", key, plain.encode() + MAGIC)).decode()

    def secret_bytes(data: bytes) -> str:
        salt = secrets.token_bytes(8)
        digest = hashlib.sha256(bytes_payload[:16] + salt).digest()
        encrypted = openssl_aes("cbc", digest[:16], data, digest[16:])
        pad = 16 - (len(salt) + len(encrypted) + 1) % 16
        return "{" + base64.b64encode(salt + bytes([pad]) + encrypted + secrets.token_bytes(pad)).decode() + "}"

    k_legacy = hashlib.sha256(secret_key_text.encode()).digest()[:16]
    (home / "credentials.xml").write_text(f"""<?xml version='1.1' encoding='UTF-8'?>
<com.cloudbees.plugins.credentials.SystemCredentialsProvider plugin="credentials@1405.vb_cda_74a_f8974">
  <domainCredentialsMap class="hudson.util.CopyOnWriteMap$Hash">
    <entry>
      <com.cloudbees.plugins.credentials.domains.Domain>
        <specifications/>
      </com.cloudbees.plugins.credentials.domains.Domain>
      <java.util.concurrent.CopyOnWriteArrayList>
        <com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>v1</id>
          <description>current format</description>
          <username>alice</username>
          <password>{v1(values['v1'])}</password>
          <usernameSecret>false</usernameSecret>
        </com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>
        <org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>old</id>
          <description>pre-2.32.2 format</description>
          <secret>{historical(values['old'], k_secret)}</secret>
        </org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
        <org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>older</id>
          <description>secret.key era</description>
          <secret>{historical(values['older'], k_legacy)}</secret>
        </org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
        <org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>file</id>
          <description/>
          <fileName>deploy.env</fileName>
          <secretBytes>{secret_bytes(file_data)}</secretBytes>
        </org.jenkinsci.plugins.plaincredentials.impl.FileCredentialsImpl>
        <org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
          <scope>GLOBAL</scope>
          <id>plain</id>
          <description>provisioned by hand</description>
          <secret>{values['plain']}</secret>
        </org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>
      </java.util.concurrent.CopyOnWriteArrayList>
    </entry>
  </domainCredentialsMap>
</com.cloudbees.plugins.credentials.SystemCredentialsProvider>
""")


def test_decrypts_a_home_encrypted_by_openssl(tmp_path: Path) -> None:
    values = {"v1": new_token(), "old": "old-" + hex32(), "older": "older-" + hex32(), "plain": new_token()}
    file_token = new_token()
    file_data = f"JENKINS_URL=https://ci.example.com/\nJENKINS_USER_ID=erin\nJENKINS_API_TOKEN={file_token}\n".encode()
    write_openssl_home(tmp_path / "home", values, file_data, "")
    run, data = json_run("--jenkins-home", str(tmp_path / "home"), "--show-secrets")
    assert run.code == 1, run.stderr
    fields = {c["id"]: c["secrets"][0] for c in data["inventory"]["credentials"]}
    for name in ("v1", "old", "older"):
        assert fields[name]["state"] == "decrypted" and fields[name]["value"] == values[name], name
    assert fields["plain"]["state"] == "plaintext"
    assert fields["file"]["state"] == "decrypted" and fields["file"]["value"] == file_data.decode()
    assert data["inventory"]["keys"] == {"master_key": True, "hudson_util_secret": True, "secret_bytes_key": True,
                                         "legacy_secret_key": True, "decryption": "available"}
    found = {f["secret"]: f for f in data["findings"]}
    assert found[values["v1"]]["user"] == "alice"  # a username/password whose password is an API token
    assert found[file_token]["user"] == "erin" and found[file_token]["jenkins_url"] == "https://ci.example.com"
    assert found[values["plain"]]["locations"][0]["path"] == "jenkins-home://credentials.xml#credential:plain/secret"


def test_server_encrypted_values_round_trip(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    """The server's own encryption (and its legacy <apiToken> seed) decrypt to what it was given."""
    value = "pw-" + hex32()
    jenkins.content.add_credentials(Credential("username_password", "u", username="bob", password=value))
    legacy = jenkins.create_legacy_token("bob")
    jenkins.content.set_root_url(jenkins.url)
    run, data = json_run("--jenkins-home", str(jenkins.home), "--show-secrets", "--verify", "--jenkins-url",
                         jenkins.url, *FAST)
    assert run.code == 1, run.stderr
    assert data["inventory"]["credentials"][0]["secrets"][0]["value"] == value
    found = {f["secret"]: f for f in data["findings"]}
    token = found[legacy.value]  # md5 of the decrypted seed: the legacy token itself
    assert token["rule_id"] == "legacy_api_token" and token["user"] == "bob"
    assert token["locations"][0]["path"].endswith("/config.xml#legacyApiToken")
    assert token["verification"]["status"] == "live"


# -- logs ---------------------------------------------------------------------------------------------


def test_logs_console_notes_are_removed_as_jenkins_shows_the_log(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = new_token()
    note_like = "\x1b[8mha:" + new_token() + "AAAA\x1b[0m"  # base64 that looks like a token: never a finding
    log_dir = jenkins.content.item_dir("app") / "builds" / "7"
    jenkins.content.add_job("app", shell="make")
    jenkins.content.add_build("app", 7, "x\n", notes=False)
    shown = f"+ curl -u erin:{token} https://ci.example.com/\n"  # what consoleText shows
    line = console_note() + note_like + shown
    (log_dir / "log").write_text("first\n" + line)
    run, data = json_run("--jenkins-home", str(jenkins.home))
    assert run.code == 1, run.stderr
    assert [f["secret"][:4] for f in data["findings"]] == [token[:4]]
    location = data["findings"][0]["locations"][0]
    assert location["path"] == "jenkins-home://jobs/app/builds/7/log" and location["line"] == 2
    assert location["column"] == shown.index(token) + 1


def test_a_log_larger_than_a_chunk_is_read_to_its_end(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    """Removing notes shortens each block: the reader must still hand out whole blocks until the end."""
    token = new_token()
    jenkins.content.add_job("big", shell="make")
    jenkins.content.add_build("big", 1, "x\n", notes=False)
    lines = 20 * 2**20 // 200  # ~20 MiB raw, more than one 16 MiB chunk, ~half of it notes
    with gzip.open(jenkins.content.item_dir("big") / "builds" / "1" / "log.gz", "wt") as log:
        note = console_note()
        for index in range(lines):
            log.write(f"{note}step {index:08d} {'.' * (190 - len(note) - 14)}\n")
        log.write(f"{note}+ curl -u frank:{token} https://ci.example.com/\n")
    (jenkins.content.item_dir("big") / "builds" / "1" / "log").unlink()
    run, data = json_run("--jenkins-home", str(jenkins.home))
    assert run.code == 1, run.stderr
    [finding] = data["findings"]
    assert finding["secret"][:4] == token[:4] and finding["locations"][0]["line"] == lines + 1


# -- bad input -------------------------------------------------------------------------------------------


def test_truncated_archive_keeps_what_was_read(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = new_token()
    jenkins.content.add_job("a-first", shell=f"curl -u alice:{token} https://ci.example.com/")
    for number in range(1, 30):
        jenkins.content.add_build("zz-later", number, secrets.token_hex(4000) + "\n", compress=False, notes=False)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:  # the job first, then the bulky builds
        archive.add(jenkins.home / "jobs" / "a-first", arcname="home/jobs/a-first")
        archive.add(jenkins.home / "jobs" / "zz-later", arcname="home/jobs/zz-later")
    whole = gzip.compress(raw.getvalue())
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    run, data = json_run("--jenkins-home", str(cut))
    assert run.code == 1, run.stderr  # findings; not 2: most of it was read
    assert [f["secret"][:4] for f in data["findings"]] == [token[:4]]
    assert any("truncated or damaged" in w and "the rest could not be read" in w for w in data["warnings"])
    assert "truncated or damaged" in run.stderr and "Traceback" not in run.stderr

    nothing = tmp_path / "nothing.tar.gz"
    nothing.write_bytes(whole[:40])
    run = jts("scan", "--no-progress", "--jenkins-home", str(nothing))
    assert run.code == 2 and run.stderr.startswith("jts: error: ") and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_wrong_key_files_list_credentials_without_values(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    jenkins.content.add_credentials(Credential("string", "s", secret=new_token()))
    other = JenkinsTestServer(tmp_path / "other_home")
    other.content.add_credentials(Credential("string", "x", secret="unused"))  # creates its key files
    (jenkins.home / "secrets" / "hudson.util.Secret").write_bytes(
        (other.home / "secrets" / "hudson.util.Secret").read_bytes())
    run, data = json_run("--jenkins-home", str(jenkins.home))
    assert "secrets/hudson.util.Secret: master.key does not decrypt it" in run.stderr
    assert data["inventory"]["keys"]["decryption"].startswith("unavailable: ")
    [credential] = data["inventory"]["credentials"]
    assert credential["id"] == "s" and credential["secrets"][0]["state"] == "not_decrypted"
    assert run.code == 1  # the key files themselves are findings; the scan itself went through

    (jenkins.home / "secrets" / "master.key").unlink()
    (jenkins.home / "secrets" / "hudson.util.Secret").unlink()
    run, data = json_run("--jenkins-home", str(jenkins.home))
    assert data["inventory"]["keys"]["decryption"] == "unavailable: no secrets/master.key in this home"
    assert data["inventory"]["credentials"][0]["secrets"][0]["state"] == "encrypted"
    assert run.code == 0, run.stderr


def test_unknown_credential_class_is_listed_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = new_token()
    (home / "credentials.xml").write_text(f"""<?xml version='1.1' encoding='UTF-8'?>
<com.cloudbees.plugins.credentials.SystemCredentialsProvider>
  <domainCredentialsMap class="hudson.util.CopyOnWriteMap$Hash">
    <entry>
      <com.cloudbees.plugins.credentials.domains.Domain><name>prod</name><specifications/></com.cloudbees.plugins.credentials.domains.Domain>
      <java.util.concurrent.CopyOnWriteArrayList>
        <io.example.FancyCredentials plugin="fancy@1.0">
          <scope>GLOBAL</scope>
          <id>fancy</id>
          <description>from a plugin \u202e\x9b31mred &#x1b;]8;;https://evil.example/&#7;</description>
          <endpoint>https://api.example.com</endpoint>
          <apiToken>{token}</apiToken>
        </io.example.FancyCredentials>
      </java.util.concurrent.CopyOnWriteArrayList>
    </entry>
  </domainCredentialsMap>
</com.cloudbees.plugins.credentials.SystemCredentialsProvider>
""")
    run, data = json_run("--jenkins-home", str(home))
    assert run.code == 1, run.stderr
    [credential] = data["inventory"]["credentials"]
    assert (credential["kind"], credential["class"], credential["domain"]) == \
        ("unknown", "io.example.FancyCredentials", "prod")
    assert credential["secrets"][0]["field"] == "apiToken" and credential["secrets"][0]["state"] == "plaintext"
    assert data["findings"][0]["locations"][0]["path"] == "jenkins-home://credentials.xml#credential:fancy/apiToken"
    text = jts("scan", "--no-progress", "--jenkins-home", str(home), "--color")
    assert "[global] fancy  unknown (io.example.FancyCredentials)" in text.stdout
    # XStream writes control characters as character references, which XML 1.0 parsers refuse
    assert "from a plugin \\u202e\\x9b31mred \ufffd]8;;https://evil.example/\ufffd" in text.stdout
    assert "\u202e" not in text.stdout and "\x9b" not in text.stdout


def add_member(archive: tarfile.TarFile, name: str, data: bytes = b"", **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if data else None)


def test_hostile_archive_escapes_nothing_and_loses_nothing(tmp_path: Path) -> None:
    good, evil = new_token(), new_token()
    archive_path = tmp_path / "hostile.tar"
    with tarfile.open(archive_path, "w") as archive:
        add_member(archive, "home/", type=tarfile.DIRTYPE)
        add_member(archive, "home/config.xml", b"<hudson><version>2.578</version></hudson>\n")
        add_member(archive, "../../escaped/jobs/x/config.xml", f"<project><c>curl -u a:{evil} x</c></project>".encode())
        add_member(archive, "/etc/cron.d/jts", b"* * * * * root touch /tmp/pwned\n")
        add_member(archive, "home/secrets/master.key", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add_member(archive, "home/secrets/hudson.util.Secret", type=tarfile.LNKTYPE, linkname="../../etc/shadow")
        add_member(archive, "home/jobs/fifo", type=tarfile.FIFOTYPE)
        add_member(archive, "home/jobs/app/config.xml",
                   f"<project><builders><hudson.tasks.Shell><command>curl -u bob:{good} https://ci/</command>"
                   f"</hudson.tasks.Shell></builders></project>\n".encode())
    before = set(os.listdir(tmp_path))
    run, data = json_run("--jenkins-home", str(archive_path), env={"TMPDIR": str(tmp_path)})
    assert run.code == 1, run.stderr
    assert [f["secret"][:4] for f in data["findings"]] == [good[:4]]  # the content of the home, all of it
    warnings = "\n".join(data["warnings"])
    assert "absolute or '..' path" in warnings and "../../escaped/jobs/x/config.xml" in warnings
    assert "/etc/cron.d/jts" in warnings
    assert "home/secrets/master.key -> /etc/passwd" in warnings
    assert "home/secrets/hudson.util.Secret -> ../../etc/shadow" in warnings
    assert "home/jobs/fifo" in warnings
    assert data["inventory"]["keys"]["master_key"] is False  # a link is never taken for the key
    assert set(os.listdir(tmp_path)) == before  # nothing extracted anywhere
    assert not Path("/tmp/pwned").exists()


def test_not_a_home_and_not_an_archive_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    for target, message in ((tmp_path / "empty", "not a JENKINS_HOME"), (tmp_path / "notes.txt", "not a tar archive"),
                            (tmp_path / "missing", "no such file")):
        run = jts("scan", "--no-progress", "--jenkins-home", str(target))
        assert run.code == 2, (target, run.output)
        assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = jts("scan", "--jenkins-home", str(tmp_path / "empty"), str(tmp_path))
    assert run.code == 2 and "--jenkins-home takes no PATH" in run.stderr


def test_huge_xml_member_is_streamed_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = new_token()
    home = tmp_path / "home"
    (home / "jobs" / "big").mkdir(parents=True)
    padding_line = "<x>" + "a" * 1000 + "</x>\n"
    with open(home / "jobs" / "big" / "config.xml", "w") as handle:
        handle.write("<project>\n")
        for _ in range(70 * 1024):  # 70 MiB: over the 64 MiB parse limit
            handle.write(padding_line)
        handle.write(f"<command>curl -u alice:{token} https://ci/</command>\n</project>\n")
    run, data = json_run("--jenkins-home", str(home))
    assert run.code == 1, run.stderr
    assert [f["secret"][:4] for f in data["findings"]] == [token[:4]]
    assert any("larger than 64 MiB: scanned as text" in w for w in data["warnings"])
