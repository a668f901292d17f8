"""Precision fixes of issue 11, through `jts scan` as a user runs it (values generated at run time).

Each false-positive class once failed here: a trigger token that was Java code, PBKDF2/crypt hash
strings read as ``user:token``, another vendor's 32-hex key beside CI words, ``.netrc`` entries
for code hosts, sequential documentation tokens, placeholder trigger tokens, code fragments
reported as users, and a project website or git remote taken for the Jenkins URL.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.helpers import DOC_INTERLEAVED, DOC_PAIRS, DOC_RUNS, jts, write_files


def hex32() -> str:
    return secrets.token_hex(16)


def token() -> str:
    return "11" + secrets.token_hex(16)


def scan(tree: Path) -> list[dict]:
    run = jts("scan", ".", "-f", "json", "--no-progress", cwd=tree)
    assert run.code in (0, 1), run.output
    return json.loads(run.stdout)["findings"]


def test_hard_negatives_are_not_reported(tmp_path: Path) -> None:
    salt = secrets.token_hex(8)
    write_files(tmp_path, {
        "src/test/java/JobConfigTest.java":
            'String xml = "<project><authToken>" + OLDTOKEN + "</authToken></project>";\n',
        "jenkins_home/users.txt": f"# jenkins users\nalice:1000:{salt}:{hex32()}\nbob:1024:{salt}${hex32()}\n",
        "jenkins/hashes.properties": f"jenkins.admin.hash=#jbcrypt-pbkdf2:1000:{hex32()}:{secrets.token_hex(32)}\n",
        "jenkins/.htpasswd": f"jenkins:$apr1$abcdefgh${hex32()}\n",
        "agent/docker-compose.yml": (
            "services:\n  jenkins-agent:\n    image: jenkins/inbound-agent\n  datadog:\n    image: datadog/agent\n"
            f"    environment:\n      - DD_API_KEY={hex32()}\n      - DD_SITE=datadoghq.com\n"),
        "home/.bashrc": f"export JENKINS_URL=https://ci.example.com\nexport DATADOG_API_KEY={hex32()}\n",
        "home/.netrc": (f"machine jenkins.example.com login alice password {token()}\n"
                        f"machine github.com login alice password {token()}\n"
                        f"machine api.bitbucket.org login alice password {hex32()}\n"),
        "docs/tokens.md": (f"JENKINS_API_TOKEN={DOC_RUNS}\n"
                           f"java -jar jenkins-cli.jar -auth admin:{DOC_PAIRS} who-am-i\n"
                           f"curl -u admin:{DOC_INTERLEAVED} https://jenkins.example.com/\n"),
        "hooks/trigger.sh": ("curl 'https://jenkins.example.com/job/x/build?token=TOKEN_NAME'\n"
                             "curl 'https://jenkins.example.com/job/x/build?token=build-token'\n"),
    })
    found = scan(tmp_path)
    # the only finding: the Jenkins entry of the .netrc
    assert [(f["rule_id"], f["user"], f["locations"][0]["path"]) for f in found] == [
        ("api_token", "alice", "home/.netrc")]


def test_code_fragments_are_never_users(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "src/Deploy.groovy": f'def user = User.get("deployer")\ndef token = "{token()}"\n',
        "src/lib.rs": f'fn connect(user: &str) {{ let token = "{token()}"; }}\n',
        "ci/run.sh": f"curl -u $JENKINS_TOKEN:{token()} https://jenkins.example.com/job/a/build\n",
        "ci/env.py": f"user = os.environ['JENKINS_USER']\ntoken = '{token()}'\n",
    })
    found = scan(tmp_path)
    assert len(found) == 4
    assert all(f["user"] is None for f in found), [f["user"] for f in found]


def test_project_site_and_git_remote_are_not_the_jenkins_url(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "jenkins-agent.xml": (
            "<service>\n  <id>jenkins-agent</id>\n  <description>Jenkins agent, see https://www.jenkins.io/doc/"
            "book/installing/</description>\n  <executable>java</executable>\n"
            f"  <arguments>-jar agent.jar -jnlpUrl http://build.corp:8080/computer/win1/jenkins-agent.jnlp "
            f"-secret {secrets.token_hex(32)} -workDir C:\\jenkins</arguments>\n"
            "  <download from=\"https://github.com/winsw/winsw/releases\" to=\"%BASE%\\winsw.exe\"/>\n</service>\n"),
        "jobs/deploy/config.xml": (
            "<project>\n  <scm class=\"hudson.plugins.git.GitSCM\">\n    <userRemoteConfigs><hudson.plugins.git.UserRemoteConfig>"
            "\n      <url>https://github.com/acme/deploy.git</url>\n    </hudson.plugins.git.UserRemoteConfig>"
            f"</userRemoteConfigs>\n  </scm>\n  <authToken>k{secrets.token_hex(8)}</authToken>\n</project>\n"),
    })
    urls = {f["rule_id"]: f["jenkins_url"] for f in scan(tmp_path)}
    assert urls == {"agent_secret": "http://build.corp:8080", "build_trigger_token": None}
