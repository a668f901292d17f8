"""Recall fixes of issue 11, through `jts scan` as a user runs it (values generated at run time).

Each shape was once missed: secrets split over lines or literals, inbound-agent positional
arguments, agent secrets base64-encoded in a Kubernetes Secret or inside minified JSON, trigger
tokens in Generic Webhook Trigger settings, Job DSL/JJB and a Ruby method, legacy tokens in Perl
LWP credentials, a Terraform variable's default, an environment fallback and an inventory table,
and every occurrence of a token in a file.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

from tests.helpers import findings_by_secret as scan
from tests.helpers import write_files

URL = "https://jenkins.example.com"


def test_split_secrets_are_found_joined(tmp_path: Path) -> None:
    shell, python, java = ("11" + secrets.token_hex(16) for _ in range(3))
    legacy = secrets.token_hex(16)
    write_files(tmp_path, {
        "ci/trigger.sh": f"curl -X POST -u alice:{shell[:15]}\\\n{shell[15:]} {URL}/job/app/build\n",
        "tools/client.py": (f"import jenkins\nTOKEN = ('{python[:18]}'\n         '{python[18:]}')\n"
                            f"server = jenkins.Jenkins('{URL}', username='bob', password=TOKEN)\n"),
        "src/Trigger.java": f'String jenkinsToken = "{java[:10]}" +\n    "{java[10:]}";\n',
        "jenkins/env.sh": f"# jenkins\nexport JENKINS_USER=carol\nexport JENKINS_TOKEN={legacy[:16]}\\\n{legacy[16:]}\n",
    })
    found = scan(tmp_path)
    assert {k: (f["rule_id"], f["user"]) for k, f in found.items()} == {
        shell: ("api_token", "alice"), python: ("api_token", "bob"), java: ("api_token", None),
        legacy: ("legacy_api_token", "carol")}
    assert found[shell]["jenkins_url"] == URL and found[shell]["locations"][0]["line"] == 1


def test_agent_secret_shapes(tmp_path: Path) -> None:
    flow, block, positional, encoded, minified = (secrets.token_hex(32) for _ in range(5))
    write_files(tmp_path, {
        "k8s/agent.yaml": (f"containers:\n- name: jnlp\n  image: jenkins/inbound-agent:3206.vb_15dcf73f6a_9-1\n"
                           f"  args: [\"{flow}\", \"agent-1\"]\n"),
        "k8s/agent2.yaml": f"containers:\n- name: jnlp\n  image: jenkins/inbound-agent\n  args:\n  - {block}\n  - agent-2\n",
        "run-agent.sh": f"docker run -d --init jenkins/inbound-agent -url http://jenkins:8080 {positional} agent-3\n",
        "k8s/secret.yaml": (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: agent-4\ntype: Opaque\ndata:\n"
                            f"  secret: {base64.b64encode((encoded + chr(10)).encode()).decode()}\n"),
        "pod.json": json.dumps({"spec": {"containers": [{"name": "jnlp", "env": [
            {"name": "JENKINS_URL", "value": "http://jenkins:8080"},
            {"name": "JENKINS_SECRET", "value": minified}, {"name": "JENKINS_AGENT_NAME", "value": "a5"}]}]}},
            separators=(",", ":")),
    })
    found = scan(tmp_path)
    assert set(found) == {flow, block, positional, encoded, minified}
    assert all(f["rule_id"] == "agent_secret" for f in found.values())
    assert found[positional]["jenkins_url"] == found[minified]["jenkins_url"] == "http://jenkins:8080"


def test_trigger_token_shapes(tmp_path: Path) -> None:
    words = ["k" + secrets.token_hex(7) + "Zq" for _ in range(6)]
    write_files(tmp_path, {
        "Jenkinsfile": ("properties([pipelineTriggers([GenericTrigger(\n  genericVariables: [[key: 'ref', value: '$.ref']],\n"
                        f"  token: '{words[0]}',\n  causeString: 'pushed'\n)])])\n"),
        "hooks/gitea.sh": f"curl -X POST '{URL}/generic-webhook-trigger/invoke?token={words[1]}'\n",
        "jjb/jobs.yaml": f"- job:\n    name: deploy\n    triggers:\n      - generic-webhook-trigger:\n          token: {words[2]}\n",
        "dsl/deploy.groovy": f"job('deploy') {{\n  authenticationToken('{words[3]}')\n}}\n",
        "lib/trigger.rb": (f"class Trigger\n  def build_token\n    '{words[4]}'\n  end\n\n  def url\n"
                           f"    \"{URL}/job/deploy/build?token=#{{build_token}}\"\n  end\nend\n"),
        "jobs/deploy/config.xml": f"<project>\n  <authToken>\n    {words[5]}\n  </authToken>\n</project>\n",
    })
    found = scan(tmp_path)
    assert set(found) == set(words)
    assert all(f["rule_id"] == "build_trigger_token" for f in found.values())
    assert found[words[1]]["jenkins_url"] == URL


def test_legacy_token_shapes(tmp_path: Path) -> None:
    perl, terraform, node, table = (secrets.token_hex(16) for _ in range(4))
    write_files(tmp_path, {
        "bin/trigger.pl": ("my $ua = LWP::UserAgent->new;\n"
                           f"$ua->credentials('jenkins.example.com:443', 'Jenkins', 'dave', '{perl}');\n"),
        "infra/variables.tf": (f"variable \"jenkins_url\" {{\n  default = \"{URL}\"\n}}\n"
                               f"variable \"jenkins_user\" {{\n  default = \"erin\"\n}}\n"
                               f"variable \"jenkins_api_token\" {{\n  type    = string\n  default = \"{terraform}\"\n}}\n"),
        "scripts/trigger.js": f"const JENKINS_URL = '{URL}';\nconst token = process.env.JENKINS_TOKEN || '{node}';\n",
        "inventory/jenkins.txt": (f"# host                  user    token\njenkins1.example.com    frank   {table}\n"
                                  f"jenkins2.example.com    gina    {secrets.token_hex(16)}\n"),
    })
    found = scan(tmp_path)
    got = {k: (f["rule_id"], f["user"], f["jenkins_url"]) for k, f in found.items() if k in (perl, terraform, node, table)}
    assert got == {perl: ("legacy_api_token", "dave", URL), terraform: ("legacy_api_token", "erin", URL),
                   node: ("legacy_api_token", None, URL),
                   table: ("legacy_api_token", "frank", "https://jenkins1.example.com")}


def test_every_occurrence_is_a_location(tmp_path: Path) -> None:
    legacy = secrets.token_hex(16)
    write_files(tmp_path, {"deploy.sh": (f"# jenkins deploy\nRESULT=$(curl --user \"alice:{legacy}\" \\\n"
                                   f"  {URL}/job/a/build)\necho \"used {legacy}\"\necho {legacy}  # jts:allow\n")})
    locations = scan(tmp_path)[legacy]["locations"]
    assert [loc["line"] for loc in locations] == [2, 4]
