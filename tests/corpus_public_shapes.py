"""A second labelled corpus, built from shapes of Jenkins credentials in public code.

The rules' own corpus (``tests/corpus.py``) was written alongside the rules; this one was not.
Each case is the shape of a place where public repositories, docs, logs or chat exports hold (or
seem to hold) a Jenkins credential, found by searching public code (Jenkinsfiles, docker-compose
files for inbound agents, Kubernetes manifests, Ansible, Terraform, JJB, Groovy init scripts,
shell, Python/Ruby/Node/Go/Java/Perl/PowerShell clients, notebooks, logs, docs, chat exports).
``source`` names where the shape was seen. Values are never copied: every secret is generated
fresh at run time and planted where the public file had its own.

Placeholders: ``@@S@@`` the planted secret, ``@@S1@@``/``@@S2@@`` its two halves (split shapes),
``@@B64@@`` its base64, ``@@BASIC@@`` base64 of ``<user>:<secret>`` (the case's user), ``@@H@@``,
``@@H64@@``, ``@@T@@`` other fresh values (decoys that are not the planted secret).

``python -m tests.corpus_public_shapes`` prints precision, recall and user/URL accuracy per kind
(the figures in the README's "Precision and recall").
"""

from __future__ import annotations

import base64
import secrets
import string
from collections import defaultdict
from dataclasses import dataclass

from scanner.detect import Detector, DetectorSpec
from scanner.shapes import plausible_user
from tests.helpers import DOC_COUNTING, DOC_COUNTING_FROM_1, DOC_INTERLEAVED, DOC_PAIRS, DOC_RUNS, DOC_ZERO

API, LEGACY, AGENT, TRIGGER, ADMIN, STORE = (
    "api_token", "legacy_api_token", "agent_secret", "build_trigger_token", "initial_admin_password",
    "jenkins_secret_store")
KINDS = (API, LEGACY, AGENT, TRIGGER, ADMIN, STORE)


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # where the shape was seen (public repository kind or file family)
    path: str
    text: str
    rule: str | None = None  # None: a hard negative, nothing may be found
    user: str | None = None  # what the content names (None: it names no user)
    url: str | None = None  # the Jenkins root the content names
    value: str = ""  # kind of the planted value: api, legacy, agent, trigger, hex32, hex64, hex40, word...

    @property
    def planted_kind(self) -> str:
        if self.value:
            return self.value
        return {API: "api", LEGACY: "legacy", AGENT: "agent", TRIGGER: "trigger", ADMIN: "hex32",
                STORE: "hex256"}.get(self.rule or "", "legacy")


def fresh(kind: str) -> str:
    if kind == "api":
        return "11" + secrets.token_hex(16)
    if kind in ("legacy", "hex32"):
        return secrets.token_hex(16)
    if kind in ("agent", "hex64"):
        return secrets.token_hex(32)
    if kind == "hex40":
        return secrets.token_hex(20)
    if kind == "hex256":
        return secrets.token_hex(128)
    if kind == "uuid":
        import uuid

        return str(uuid.uuid4())
    # a trigger token as people pick them: letters and digits, sometimes a dash
    alphabet = string.ascii_letters + string.digits
    word = "".join(secrets.choice(alphabet) for _ in range(18))
    return word[:9] + "-" + word[9:] if kind == "trigger-dash" else word


def expand(case: Case) -> tuple[str, str]:
    secret = fresh(case.planted_kind)
    half = len(secret) // 2 + 1
    text = case.text
    replacements = {
        "@@S1@@": secret[:half], "@@S2@@": secret[half:],
        "@@B64@@": base64.b64encode(secret.encode()).decode(),
        "@@BASIC@@": base64.b64encode(f"{case.user or 'user'}:{secret}".encode()).decode(),
    }
    for key, value in replacements.items():
        text = text.replace(key, value)
    while "@@H@@" in text:
        text = text.replace("@@H@@", secrets.token_hex(16), 1)
    while "@@H64@@" in text:
        text = text.replace("@@H64@@", secrets.token_hex(32), 1)
    while "@@T@@" in text:
        text = text.replace("@@T@@", "11" + secrets.token_hex(16), 1)
    return text.replace("@@S@@", secret), secret


def P(name: str, source: str, path: str, text: str, rule: str, user: str | None = None, url: str | None = None,
      value: str = "") -> Case:
    return Case(name, source, path, text, rule, user, url, value)


def N(name: str, source: str, path: str, text: str, value: str = "hex32") -> Case:
    return Case(name, source, path, text, None, None, None, value)


def both(name: str, source: str, path: str, text: str, user: str | None = None, url: str | None = None) -> list[Case]:
    """A shape that holds a new API token or a legacy 32-hex token alike."""
    return [P(name + " (api)", source, path, text, API, user, url), P(name + " (legacy)", source, path, text, LEGACY, user, url)]


def b64(text: str) -> str:
    """A Kubernetes Secret's data value: base64 of a plain (non-secret) value, such as a user or a URL."""
    return base64.b64encode(text.encode()).decode()


A = "https://jenkins.acme.io"
B = "http://ci.corp.local:8080/jenkins"
C = "https://build.example.org"
D = "http://10.20.0.15:8080"
E = "https://jenkins.internal.example.net:8443"

# --------------------------------------------------------------------------- API and legacy tokens

CLI_AND_HTTP = [
    *both("jenkins-cli -auth", "shell wrappers of jenkins-cli.jar", "bin/jenkins-cli.sh",
          f"#!/bin/sh\njava -jar jenkins-cli.jar -s {A}/ -auth deployer:@@S@@ list-jobs\n", "deployer", A),
    *both("jenkins-cli -auth before -s", "Groovy shared library calling the CLI", "vars/cli.groovy",
          f"sh \"java -jar jenkins-cli.jar -auth devops:@@S@@ -s {B}/ -webSocket help\"\n", "devops", B),
    *both("cli env vars", "Makefile targets", "Makefile",
          f"reload:\n\tJENKINS_USER_ID=ops JENKINS_API_TOKEN=@@S@@ java -jar jenkins-cli.jar -s {C} reload-configuration\n",
          "ops", C),
    *both("curl -u trigger", "deploy scripts", "scripts/deploy.sh",
          f"curl -X POST -u release:@@S@@ \"{A}/job/release/buildWithParameters?VERSION=$1\"\n", "release", A),
    *both("curl --user quoted", "CI helper scripts", "ci/trigger.sh",
          f"curl -s --user \"qa-bot:@@S@@\" '{D}/job/nightly/build?delay=0sec'\n", "qa-bot", D),
    *both("curl crumb dance", "README snippets", "README.md",
          f"```\nCRUMB=$(curl -s -u alice:@@S@@ '{A}/crumbIssuer/api/xml?xpath=concat(//crumbRequestField,\":\",//crumb)')\n"
          f"curl -X POST -H \"$CRUMB\" -u alice:@@S@@ {A}/job/app/build\n```\n", "alice", A),
    *both("curl multi-line", "Dockerfile RUN steps", "Dockerfile",
          f"RUN curl -fsSL -X POST \\\n    -u builder:@@S@@ \\\n    {E}/job/image-rebuild/build\n", "builder", E),
    *both("wget http-user", "cron jobs", "cron/nightly.sh",
          f"wget --auth-no-challenge --http-user=cron --http-password=@@S@@ {C}/job/nightly/build -O /dev/null\n",
          "cron", C),
    *both("url userinfo", "git remotes and hooks", "hooks/post-receive",
          "curl -X POST https://hook:@@S@@@jenkins.acme.io/job/mirror/build\n", "hook", A),
    *both("url userinfo with path", "build badges in docs", "docs/ci.md",
          "Trigger it with `curl -X POST http://robot:@@S@@@ci.corp.local:8080/jenkins/job/docs/build`.\n",
          "robot", B),
    *both("httpie", "API how-tos", "docs/api.md",
          f"http --auth bob:@@S@@ POST {A}/job/app/build\n", "bob", A),
    *both("basic header", "REST client files", "api/jenkins.http",
          f"### whoami\nGET {A}/whoAmI/api/json\nAuthorization: Basic @@BASIC@@\n", "carol", A),
    *both("basic header curl", "debug logs pasted in issues", "notes/debug.txt",
          f"curl -H 'Authorization: Basic @@BASIC@@' {C}/api/json?pretty=true\n", "dan", C),
    *both("powershell credential", "Windows agents setup scripts", "setup/trigger.ps1",
          f"$user = 'winbuild'\n$token = '@@S@@'\n$pair = \"$($user):$($token)\"\n"
          f"Invoke-RestMethod -Uri '{D}/job/win/build' -Method Post -Headers @{{Authorization = \"Basic $encoded\"}}\n",
          "winbuild", D),
    *both("jenkins-job-builder cli flags", "JJB usage in CI", "ci/jjb.sh",
          "jenkins-jobs --conf jjb.ini --user jjb --password @@S@@ update jobs/\n", "jjb", None),
    *both("python requests auth tuple", "Python trigger scripts", "tools/trigger.py",
          f"import requests\nJENKINS = '{A}'\nr = requests.post(JENKINS + '/job/app/build', auth=('erin', '@@S@@'))\n",
          "erin", A),
    *both("python HTTPBasicAuth", "Python trigger scripts", "tools/trigger_basic.py",
          f"from requests.auth import HTTPBasicAuth\nresp = requests.post('{C}/job/x/build', "
          "auth=HTTPBasicAuth('frank', '@@S@@'))\n", "frank", C),
    *both("node fetch basic", "Node webhooks", "src/jenkins.js",
          f"const auth = Buffer.from('gina:@@S@@').toString('base64');\n"
          f"await fetch('{A}/job/app/build', {{ method: 'POST', headers: {{ Authorization: `Basic ${{auth}}` }} }});\n",
          "gina", A),
    *both("go NewClient", "Go clients (gojenkins)", "cmd/jenkins/main.go",
          f"client := gojenkins.CreateJenkins(nil, \"{E}\", \"hank\", \"@@S@@\")\n", "hank", E),
    *both("java JenkinsServer", "Java clients (jenkins-client)", "src/main/java/ci/Jobs.java",
          f"JenkinsServer jenkins = new JenkinsServer(new URI(\"{B}\"), \"ivan\", \"@@S@@\");\n", "ivan", B),
    *both("java jenkins-rest credentials", "Java clients (jenkins-rest)", "src/main/java/ci/Client.java",
          f"JenkinsClient client = JenkinsClient.builder()\n    .endPoint(\"{D}\")\n    .credentials(\"judy:@@S@@\")\n    .build();\n",
          "judy", D),
    # a crumb header or field beside the credential (red-team review): the crumb is no token, the credential is
    *both("curl -u with a crumb header", "remote-trigger how-tos (curl -u with -H Jenkins-Crumb)", "scripts/build.sh",
          f"curl -X POST -u admin:@@S@@ -H \"Jenkins-Crumb: $CRUMB\" {A}/job/deploy/build\n", "admin", A),
    *both("wget with a crumb value", "cron jobs posting with a fetched crumb", "cron/trigger.sh",
          "wget --auth-no-challenge --user=admin --password=@@S@@ --header=\"Jenkins-Crumb: @@H@@\" --post-data=\"\" "
          f"{C}/job/x/build\n", "admin", C),
    *both("requests with a crumb header", "Python trigger scripts", "tools/post_build.py",
          f"JENKINS = '{A}'\nr = requests.post(JENKINS + '/job/app/build', auth=('erin', '@@S@@'), "
          "headers={'Jenkins-Crumb': crumb})\n", "erin", A),
    *both("minified json with a crumb", "tool state files (minified JSON)", "state/jenkins.json",
          f'{{"crumb":"@@H@@","jenkins":{{"url":"{A}","user":"bob","token":"@@S@@"}}}}\n', "bob", A),
    # Jenkins on a cloud provider's generic machine or load-balancer name, or a vendor link in a comment (red-team
    # review): neither is another service's call
    *both("curl to an EC2 public DNS name", "Jenkins-on-EC2 tutorials (port 8080 on ec2-*.compute-1.amazonaws.com)",
          "scripts/trigger-ec2.sh",
          "curl -X POST -u admin:@@S@@ http://ec2-54-12-34-56.compute-1.amazonaws.com:8080/job/deploy/build\n",
          "admin", "http://ec2-54-12-34-56.compute-1.amazonaws.com:8080"),
    *both("url userinfo on an ELB", "Jenkins behind an AWS load balancer (CloudFormation outputs)", "docs/trigger.md",
          "curl -X POST https://deploy:@@S@@@ci-alb-1234567.us-east-1.elb.amazonaws.com/job/app/build\n",
          "deploy", "https://ci-alb-1234567.us-east-1.elb.amazonaws.com"),
    *both("jenkins-cli to an Azure VM", "Jenkins on Azure VM guides (*.cloudapp.azure.com)", "deploy/cli.sh",
          "java -jar jenkins-cli.jar -s http://build01.westeurope.cloudapp.azure.com:8080/ -auth ops:@@S@@ build app\n",
          "ops", "http://build01.westeurope.cloudapp.azure.com:8080"),
    *both("vendor link in a comment", ".env files with rotation notes", "deploy/ci.env",
          f"JENKINS_URL={A}\nJENKINS_USER=ci\nDEPLOY_TOKEN=@@S@@   # rotate via https://sentry.io/settings/acme/\n",
          "ci", A),
    *both("gson-escaped quotes around user:token", "job and build dumps serialised with Gson (\\u0027 for ')",
          "dump/job.json", f'{{"script":"curl -X POST -u \\u0027admin:@@S@@\\u0027 {A}/job/x/build"}}\n', "admin", A),
    *both("makefile conditional assignment", "Makefiles with overridable defaults (?=), red-team review", "Makefile.ci",
          f"JENKINS_URL ?= {C}\nJENKINS_USER ?= ops\nJENKINS_TOKEN ?= @@S@@\n\ntrigger:\n"
          "\tcurl -X POST -u $(JENKINS_USER):$(JENKINS_TOKEN) $(JENKINS_URL)/job/app/build\n", "ops", C),
    *both("makefile POSIX immediate assignment", "Makefiles (::=, POSIX 2024)", "mk/jenkins.mk",
          f"JENKINS_URL ::= {A}\nJENKINS_USER_ID ::= rel\nJENKINS_API_TOKEN ::= @@S@@\n", "rel", A),
    *both("perl LWP credentials", "Perl trigger scripts", "bin/trigger.pl",
          "use LWP::UserAgent;\nmy $ua = LWP::UserAgent->new;\n"
          "$ua->credentials('jenkins.acme.io:443', 'Jenkins', 'kate', '@@S@@');\n"
          f"my $res = $ua->post('{A}/job/app/build');\n", "kate", A),
]

CONFIG_FILES = [
    *both("env file", ".env files", ".env",
          f"JENKINS_URL={A}\nJENKINS_USER=liam\nJENKINS_API_TOKEN=@@S@@\n", "liam", A),
    *both("env file user id", ".env files for jenkins-cli", "jenkins.env",
          f"JENKINS_URL={C}/\nJENKINS_USER_ID=mia\nJENKINS_API_TOKEN=@@S@@\n", "mia", C),
    *both("shell rc exports", "dotfiles", "home/.zshrc",
          f"# jenkins\nexport JENKINS_URL={E}\nexport JENKINS_USER=nina\nexport JENKINS_TOKEN=\"@@S@@\"\nalias jcli='java -jar ~/jenkins-cli.jar'\n",
          "nina", E),
    *both("github actions env", "GitHub Actions workflows", ".github/workflows/deploy.yml",
          f"jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      JENKINS_URL: {A}\n      JENKINS_USER: oscar\n"
          "      JENKINS_TOKEN: @@S@@\n    steps:\n      - run: ./trigger.sh\n", "oscar", A),
    *both("gitlab ci variables", "GitLab CI files", ".gitlab-ci.yml",
          f"variables:\n  JENKINS_URL: \"{B}\"\n  JENKINS_USER: \"pam\"\n  JENKINS_API_TOKEN: \"@@S@@\"\n"
          "trigger:\n  script:\n    - curl -X POST -u \"$JENKINS_USER:$JENKINS_API_TOKEN\" \"$JENKINS_URL/job/app/build\"\n",
          "pam", B),
    *both("docker-compose environment list", "docker-compose files", "docker-compose.yml",
          f"services:\n  bot:\n    image: acme/chatops\n    environment:\n      - JENKINS_URL={A}\n      - JENKINS_USERNAME=quinn\n"
          "      - JENKINS_API_TOKEN=@@S@@\n", "quinn", A),
    *both("dockerfile env", "Dockerfiles", "Dockerfile",
          f"FROM python:3.12-slim\nENV JENKINS_URL={C}\nENV JENKINS_USER=rose\nENV JENKINS_TOKEN=@@S@@\n", "rose", C),
    *both("k8s env list", "Kubernetes deployments", "k8s/deployment.yaml",
          f"      containers:\n      - name: bot\n        env:\n        - name: JENKINS_URL\n          value: {A}\n"
          "        - name: JENKINS_USER\n          value: sam\n        - name: JENKINS_API_TOKEN\n          value: \"@@S@@\"\n",
          "sam", A),
    *both("k8s secret stringData", "Kubernetes secrets", "k8s/secret.yaml",
          f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: jenkins-credentials\nstringData:\n  username: tina\n"
          f"  token: @@S@@\n  url: {E}\n", "tina", E),
    *both("helm values", "Helm values files", "charts/bot/values.yaml",
          f"jenkins:\n  url: {B}\n  user: uma\n  apiToken: @@S@@\n", "uma", B),
    *both("ansible vars", "Ansible group_vars", "group_vars/all.yml",
          f"jenkins_url: {A}\njenkins_admin_username: victor\njenkins_admin_token: @@S@@\n", "victor", A),
    *both("ansible jenkins_job task", "Ansible playbooks (jenkins_job module)", "playbooks/jobs.yml",
          f"- name: Create job\n  community.general.jenkins_job:\n    config: \"{{{{ lookup('file', 'job.xml') }}}}\"\n"
          f"    name: app\n    url: {C}\n    user: wendy\n    token: @@S@@\n", "wendy", C),
    *both("ansible uri module", "Ansible playbooks (uri module)", "playbooks/trigger.yml",
          f"- name: trigger\n  uri:\n    url: \"{A}/job/app/build\"\n    method: POST\n    user: xavier\n"
          "    password: @@S@@\n    force_basic_auth: yes\n    status_code: 201\n", "xavier", A),
    *both("ansible inventory line", "Ansible INI inventories", "inventory/hosts.ini",
          "[jenkins]\nci01 ansible_host=10.0.0.5 jenkins_user=yara jenkins_api_token=@@S@@\n", "yara", None),
    *both("terraform provider", "Terraform (jenkins provider)", "infra/provider.tf",
          f"provider \"jenkins\" {{\n  server_url = \"{D}\"\n  username   = \"zeke\"\n  password   = \"@@S@@\"\n}}\n",
          "zeke", D),
    *both("terraform variable default", "Terraform variables", "infra/variables.tf",
          f"variable \"jenkins_url\" {{\n  default = \"{A}\"\n}}\n\nvariable \"jenkins_username\" {{\n  default = \"abby\"\n}}\n\n"
          "variable \"jenkins_api_token\" {\n  type      = string\n  sensitive = true\n  default   = \"@@S@@\"\n}\n",
          "abby", A),
    *both("tfvars", "Terraform tfvars", "infra/prod.tfvars",
          f"jenkins_url      = \"{C}\"\njenkins_user     = \"ben\"\njenkins_password = \"@@S@@\"\n", "ben", C),
    *both("jenkins_jobs.ini", "jenkins-job-builder configs", "jenkins_jobs.ini",
          f"[job_builder]\nignore_cache=True\n\n[jenkins]\nuser=cleo\npassword=@@S@@\nurl={B}\nquery_plugins_info=False\n",
          "cleo", B),
    *both("jenkins.ini python", "Python configparser files", "conf/jenkins.ini",
          f"[prod]\nurl = {E}\nuser = drew\npassword = @@S@@\n", "drew", E),
    *both("json config", "tool config files (jenkinsctl)", "config.json",
          f"{{\n    \"Server\": \"{A}\",\n    \"JenkinsUser\": \"ella\",\n    \"Token\": \"@@S@@\"\n}}\n", "ella", A),
    *both("json minified", "app settings", "appsettings.json",
          f"{{\"jenkins\":{{\"baseUrl\":\"{C}\",\"user\":\"finn\",\"apiToken\":\"@@S@@\"}}}}\n", "finn", C),
    *both("toml", "Rust/Python tool configs", "jenkins.toml",
          f"[jenkins]\nurl = \"{D}\"\nusername = \"gus\"\ntoken = \"@@S@@\"\n", "gus", D),
    *both("properties", "Gradle/Java properties", "gradle.properties",
          f"jenkinsUrl={B}\njenkinsUser=hana\njenkinsApiToken=@@S@@\n", "hana", B),
    *both("maven settings.xml", "Maven settings", "settings.xml",
          "<settings>\n  <servers>\n    <server>\n      <id>jenkins</id>\n      <username>ian</username>\n"
          "      <password>@@S@@</password>\n    </server>\n  </servers>\n</settings>\n", "ian", None),
    *both("netrc", ".netrc files", "home/.netrc",
          "machine jenkins.acme.io\n  login jade\n  password @@S@@\n", "jade", A),
    *both("netrc one line among others", ".netrc files", ".netrc",
          "machine github.com login jade password ghp_notatoken\n"
          "machine ci.corp.local login kai password @@S@@\n", "kai", "https://ci.corp.local"),
    *both("groovy init script", "Groovy init.groovy.d scripts", "init.groovy.d/remote.groovy",
          f"def jenkinsUrl = '{A}'\ndef user = 'leo'\ndef apiToken = '@@S@@'\n", "leo", A),
    *both("jcasc remote trigger", "JCasC YAML", "casc/jenkins.yaml",
          f"unclassified:\n  parameterizedRemoteTrigger:\n    remoteSites:\n      - address: \"{C}\"\n        displayName: prod\n"
          "        auth2:\n          tokenAuth:\n            userName: \"mona\"\n            apiToken: \"@@S@@\"\n", "mona", C),
    *both("python-jenkins constructor", "python-jenkins scripts", "scripts/jobs.py",
          f"import jenkins\nserver = jenkins.Jenkins('{A}', username='ned', password='@@S@@')\nprint(server.get_whoami())\n",
          "ned", A),
    *both("jenkinsapi constructor", "jenkinsapi scripts", "scripts/jobs2.py",
          f"from jenkinsapi.jenkins import Jenkins\nJ = Jenkins(\"{E}\", username=\"olga\", password=\"@@S@@\")\n", "olga", E),
    *both("python module constants", "Python settings modules", "settings/ci.py",
          f"JENKINS_URL = \"{B}\"\nJENKINS_USER = \"pete\"\nJENKINS_TOKEN = \"@@S@@\"\n", "pete", B),
    *both("python dict config", "Python configs", "deploy/config.py",
          f"JENKINS = {{\n    'url': '{D}',\n    'username': 'quill',\n    'password': '@@S@@',\n}}\n", "quill", D),
    *both("ruby jenkins_api_client", "Ruby clients (jenkins_api_client)", "lib/ci.rb",
          f"@client = JenkinsApi::Client.new(server_url: '{A}',\n                                 username: 'rita',\n"
          "                                 password: '@@S@@')\n", "rita", A),
    *both("ruby hash rockets", "Ruby clients (older syntax)", "app/models/jenkins.rb",
          f"@client = JenkinsApi::Client.new(:server_url => '{C}', :username => 'saul', :password => '@@S@@')\n",
          "saul", C),
    *both("node jenkins client", "Node clients (jenkins npm)", "src/ci.js",
          "const jenkins = require('jenkins')({ baseUrl: 'https://tara:@@S@@@jenkins.acme.io', crumbIssuer: true });\n",
          "tara", A),
    *both("node config object", "Node configs", "config/default.js",
          f"module.exports = {{\n  jenkins: {{\n    host: '{E}',\n    user: 'ugo',\n    token: '@@S@@',\n  }},\n}};\n",
          "ugo", E),
    *both("process.env fallback", "Node scripts with env fallbacks", "scripts/build.js",
          f"const JENKINS_URL = process.env.JENKINS_URL || '{A}';\n"
          "const JENKINS_USER = process.env.JENKINS_USER || 'vera';\n"
          "const JENKINS_TOKEN = process.env.JENKINS_TOKEN || '@@S@@';\n", "vera", A),
    *both("python environ.get fallback", "Python scripts with env fallbacks", "tools/ci_client.py",
          f"URL = os.environ.get('JENKINS_URL', '{C}')\nUSER = os.environ.get('JENKINS_USER', 'walt')\n"
          "TOKEN = os.environ.get('JENKINS_TOKEN', '@@S@@')\n", "walt", C),
    *both("shell default expansion", "shell scripts with defaults", "bin/jenkins-trigger",
          f"JENKINS_URL=${{JENKINS_URL:-{D}}}\nJENKINS_USER=${{JENKINS_USER:-xena}}\nJENKINS_TOKEN=${{JENKINS_TOKEN:-@@S@@}}\n",
          "xena", D),
    *both("go struct literal", "Go configs", "internal/ci/config.go",
          f"var cfg = Config{{\n\tJenkinsURL:   \"{B}\",\n\tJenkinsUser:  \"yuri\",\n\tJenkinsToken: \"@@S@@\",\n}}\n",
          "yuri", B),
    *both("kotlin gradle", "Gradle Kotlin DSL", "build.gradle.kts",
          f"val jenkinsUrl = \"{A}\"\nval jenkinsUser = \"zoe\"\nval jenkinsToken = \"@@S@@\"\n", "zoe", A),
    *both("notebook", "Jupyter notebooks", "analysis/builds.ipynb",
          "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"source\": [\n"
          f"    \"server = jenkins.Jenkins('{C}', username='adam', password='@@S@@')\\n\",\n"
          "    \"jobs = server.get_jobs()\"\n   ]\n  }\n ]\n}\n", "adam", C),
    *both("markdown table", "docs listing service accounts", "docs/accounts.md",
          f"| service | url | user | token |\n| --- | --- | --- | --- |\n| jenkins | {A} | bella | @@S@@ |\n",
          "bella", A),
    *both("inventory table", "plain-text inventories", "inventory/jenkins.txt",
          "# host                       user      token\njenkins.acme.io              carl      @@S@@\n"
          "jenkins-stage.acme.io        carl      @@H@@\n", "carl", A),
    *both("build log", "CI build logs", "logs/console.log",
          f"[Pipeline] sh\n+ curl -X POST -u dora:@@S@@ {E}/job/downstream/build\nFinished: SUCCESS\n", "dora", E),
    *both("slack export", "chat exports (Slack JSON)", "export/channels/ci/2023-04-02.json",
          "[\n  {\n    \"type\": \"message\",\n    \"user\": \"U02ABCD\",\n"
          f"    \"text\": \"use `curl -u emil:@@S@@ {A}/job/app/build` for now\",\n    \"ts\": \"1680434400.000200\"\n  }}\n]\n",
          "emil", A),
    *both("chat log text", "chat exports (IRC/Matrix logs)", "logs/irc.log",
          f"[09:12] <fay> try java -jar jenkins-cli.jar -s {C} -auth fay:@@S@@ who-am-i\n", "fay", C),
    *both("stack overflow style doc", "Q&A answers copied into docs", "docs/faq.md",
          f"I call it like this:\n\n    curl -X POST {D}/job/test/build --user gil:@@S@@\n\nand get a 201.\n", "gil", D),
    *both("yaml list of servers", "tool configs with several servers", "servers.yaml",
          f"servers:\n  - name: prod\n    url: {A}\n    username: hugo\n    token: @@S@@\n", "hugo", A),
    *both("bash array", "shell scripts", "bin/multi.sh",
          f"JENKINS_AUTH=(\"iris\" \"@@S@@\")\ncurl -u \"${{JENKINS_AUTH[0]}}:${{JENKINS_AUTH[1]}}\" {B}/api/json\n", "iris", B),
    *both("github actions curl step", "GitHub Actions workflows", ".github/workflows/trigger.yml",
          f"      - name: Trigger Jenkins\n        run: |\n          curl -X POST -u jon:@@S@@ \\\n            {A}/job/app/build\n",
          "jon", A),
    *both("jenkinsfile remote trigger", "Jenkinsfiles (Parameterized Remote Trigger)", "Jenkinsfile",
          f"triggerRemoteJob(remoteJenkinsUrl: '{C}', job: 'deploy',\n    auth: TokenAuth(apiToken: hudson.util.Secret.fromString('@@S@@'), userName: 'kim'))\n",
          "kim", C),
    *both("jenkinsfile httpRequest", "Jenkinsfiles (HTTP Request plugin)", "Jenkinsfile",
          f"httpRequest url: '{A}/job/other/build', httpMode: 'POST',\n"
          "    customHeaders: [[name: 'Authorization', value: 'Basic @@BASIC@@']]\n", "lara", A),
    *both("python split implicit concat", "Python scripts wrapping long literals", "tools/long.py",
          f"JENKINS_URL = '{E}'\nJENKINS_USER = 'max'\nJENKINS_TOKEN = ('@@S1@@'\n                 '@@S2@@')\n", "max", E),
    *both("shell split continuation", "shell scripts wrapped at 80 columns", "bin/wrapped.sh",
          f"curl -X POST -u nora:@@S1@@\\\n@@S2@@ {A}/job/app/build\n", "nora", A),
    *both("java split concatenation", "Java tests", "src/test/java/TriggerIT.java",
          f"private static final String URL = \"{C}\";\nprivate static final String JENKINS_TOKEN = \"@@S1@@\" +\n"
          "        \"@@S2@@\";\n", None, C),
    *both("two occurrences", "shell scripts", "bin/twice.sh",
          f"OUT=$(curl --user \"otto:@@S@@\" \\\n  {A}/job/a/build)\necho \"token @@S@@ used\"\n", "otto", A),
]

# API tokens only: shapes where a bare 32-hex value would be anything (the legacy rule rightly wants more)
API_ONLY = [
    P("bare constant", "JavaScript constants", "src/constants.js", "export const JENKINS_KEY = '@@S@@';\n", API),
    P("yaml token key without jenkins word", "CI bot configs", "bot.yml", f"ci:\n  server: {A}\n  token: @@S@@\n", API, None, A),
    P("url query api token", "scripts passing token in query", "bin/status.sh",
      f"curl '{C}/job/app/lastBuild/api/json?token=@@S@@'\n", API, None, C),
    P("token only line", "files holding just a token", "secrets/jenkins-token.txt", "@@S@@\n", API),
    P("docker login style", "scripts", "bin/login.sh", f"echo @@S@@ | jenkins-login --user paula --url {A}\n", API, None, A),
    P("netrc for an EC2 Jenkins", ".netrc (red-team review: a cloud machine name is no other service)", "home/.netrc",
      "machine ec2-3-120-1-2.eu-central-1.compute.amazonaws.com login admin password @@S@@\n", API, "admin",
      "https://ec2-3-120-1-2.eu-central-1.compute.amazonaws.com"),
    # right after an escape ending in a hex digit (red-team review): percent-encoded URLs and bodies, Gson's \\u003d
    P("percent-encoded userinfo in a redirect", "access logs (login redirects, percent-encoded)", "logs/access.log",
      "10.0.0.7 - - \"GET /login?from=https%3A%2F%2Fdeploy%3A@@S@@%40jenkins.acme.io%2Fjob%2Fapp%2Fbuild HTTP/1.1\" 302\n",
      API),
    P("urlencoded form body", "reverse-proxy debug logs (urlencoded POST bodies)", "logs/proxy-debug.log",
      "POST /jenkins/descriptorByName/x/check body=json%3D%7B%22apiToken%22%3A%22@@S@@%22%7D\n", API),
    P("gson-escaped env entry", "REST answers serialised with Gson (\\u003d for =)", "dump/env.json",
      "{\"env\":[\"JENKINS_API_TOKEN\\u003d@@S@@\"]}\n", API),
    # base64 in a Kubernetes Secret's data, as agent secrets are (red-team review); neighbours read decoded
    P("k8s credentials-provider secret", "kubernetes-credentials-provider plugin docs (usernamePassword type)",
      "k8s/jenkins-deploy-cred.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy-user\n  labels:\n"
      f"    jenkins.io/credentials-type: usernamePassword\ntype: Opaque\ndata:\n  username: {b64('deploy')}\n"
      "  password: @@B64@@\n", API, "deploy"),
    P("k8s secret JENKINS_API_TOKEN key", "Helm charts holding CI credentials for deploy jobs", "chart/templates/ci.yaml",
      f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: jenkins-api\ndata:\n  JENKINS_URL: {b64(A)}\n"
      f"  JENKINS_USER_ID: {b64('ci-bot')}\n  JENKINS_API_TOKEN: @@B64@@\n", API, "ci-bot", A),
    P("k8s secret json", "kubectl get secret -o json output", "debug/secret.json",
      f'{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"jenkins"}},"data":{{"token":"@@B64@@",'
      f'"username":"{b64("ops")}"}}}}\n', API, "ops"),
    P("rust struct", "Rust clients", "src/main.rs",
      f"let client = Jenkins::builder(\"{D}\").with_user(\"quentin\", Some(\"@@S@@\")).build()?;\n", API, None, D),
    P("csharp", "C# clients", "Ci/JenkinsClient.cs",
      f"var client = new JenkinsClient(\"{E}\", \"rob\", \"@@S@@\");\n", API, None, E),
    P("php", "PHP clients", "src/Jenkins.php",
      "$jenkins = new \\JenkinsKhan\\Jenkins('https://sue:@@S@@@jenkins.acme.io');\n", API, "sue", A),
    P("jenkins credentials xml plain", "exported credentials (plain text)", "export/credentials.xml",
      "<com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>\n  <id>remote-jenkins</id>\n"
      "  <username>ted</username>\n  <password>@@S@@</password>\n</com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>\n",
      API, "ted", None),
    P("dotenv quoted with comment", ".env files", ".env.local",
      "# Jenkins API token for ursula\nJENKINS_API_TOKEN='@@S@@'  # rotate me\nJENKINS_USER=ursula\n", API, "ursula"),
    P("windows cmd set", "Windows batch files", "trigger.cmd",
      f"set JENKINS_USER=val\nset JENKINS_TOKEN=@@S@@\ncurl -X POST -u %JENKINS_USER%:%JENKINS_TOKEN% {A}/job/app/build\n",
      API, "val", A),
    P("gitlab ci masked var in doc", "docs", "docs/setup.md",
      "Set `JENKINS_API_TOKEN` to `@@S@@` in the project's CI/CD variables.\n", API),
    P("python split one line", "Python", "jt.py", "jenkins_token = '@@S1@@' '@@S2@@'\n", API),
    P("escaped json in log", "JSON logs", "logs/events.jsonl",
      f"{{\"msg\":\"exec\",\"cmd\":\"curl -u wes:@@S@@ \\\"{C}/job/a/build\\\"\"}}\n", API, "wes", C),
]

# --------------------------------------------------------------------------- agent secrets

AGENTS = [
    P("agent.jar -secret", "agent start scripts", "agent/start.sh",
      f"java -jar agent.jar -url {A}/ -secret @@S@@ -name linux-01 -workDir /home/jenkins/agent\n", AGENT, None, A),
    P("agent jnlpUrl", "agent start scripts", "agent/start.bat",
      "java -jar agent.jar -jnlpUrl http://ci.corp.local:8080/jenkins/computer/win-01/jenkins-agent.jnlp "
      "-secret @@S@@ -workDir \"C:\\jenkins\"\n", AGENT, None, B),
    P("agent multi-line", "systemd units", "etc/systemd/system/jenkins-agent.service",
      "[Service]\nUser=jenkins\nExecStart=/usr/bin/java -jar /opt/jenkins/agent.jar \\\n"
      f"  -url {C} \\\n  -secret @@S@@ \\\n  -name build-02 \\\n  -workDir /var/lib/jenkins\n", AGENT, None, C),
    P("compose environment map", "docker-compose for inbound agents", "docker-compose.yml",
      "services:\n  jenkins-agent:\n    image: jenkins/inbound-agent\n    environment:\n"
      "      JENKINS_URL: http://jenkins:8080\n      JENKINS_AGENT_NAME: \"agent-1\"\n      JENKINS_SECRET: \"@@S@@\"\n",
      AGENT, None, "http://jenkins:8080"),
    P("compose environment list", "docker-compose for inbound agents", "agents/compose.yaml",
      "  jenkins-agent:\n    image: jenkins/inbound-agent:latest-jdk17\n    environment:\n"
      "      - JENKINS_URL=http://jenkins:8080\n      - JENKINS_AGENT_NAME=docker\n      - JENKINS_SECRET=@@S@@\n",
      AGENT, None, "http://jenkins:8080"),
    P("docker run env", "README run instructions", "README.md",
      f"```\ndocker run -d --name agent -e JENKINS_URL={A} -e JENKINS_SECRET=@@S@@ -e JENKINS_AGENT_NAME=a1 jenkins/inbound-agent\n```\n",
      AGENT, None, A),
    P("docker run positional", "README run instructions", "docs/agents.md",
      "docker run --init jenkins/inbound-agent -url http://jenkins-server:8080 @@S@@ agent-7\n", AGENT, None,
      "http://jenkins-server:8080"),
    P("docker run windows", "Windows agent docs", "docs/windows.md",
      "docker run jenkins/inbound-agent:windowsservercore-ltsc2019 -Url http://jenkins:8080 -Secret @@S@@ -Name win-1\n",
      AGENT, None, "http://jenkins:8080"),
    P("k8s env", "Kubernetes agent pods", "k8s/agent.yaml",
      "spec:\n  containers:\n  - name: jnlp\n    image: jenkins/inbound-agent\n    env:\n    - name: JENKINS_URL\n"
      "      value: http://jenkins.ci.svc:8080\n    - name: JENKINS_SECRET\n      value: @@S@@\n"
      "    - name: JENKINS_AGENT_NAME\n      value: k8s-1\n", AGENT, None, "http://jenkins.ci.svc:8080"),
    P("k8s args flow", "Kubernetes agent pods", "k8s/agent-args.yaml",
      "  containers:\n  - name: jnlp\n    image: jenkins/inbound-agent:3283.v92c105e0f819-1\n"
      "    args: [\"@@S@@\", \"k8s-2\"]\n", AGENT),
    P("k8s args block", "Kubernetes agent pods", "k8s/agent-args2.yaml",
      "  containers:\n  - name: jnlp\n    image: jenkins/inbound-agent\n    args:\n    - @@S@@\n    - k8s-3\n", AGENT),
    P("k8s args with url", "Kubernetes agent pods", "k8s/agent-args3.yaml",
      "    command: [\"jenkins-agent\"]\n    args: [\"-url\", \"http://jenkins:8080\", \"@@S@@\", \"k8s-4\"]\n", AGENT,
      None, "http://jenkins:8080"),
    P("k8s secret base64", "Kubernetes secrets", "k8s/agent-secret.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: jenkins-agent-k8s-5\ntype: Opaque\ndata:\n  secret: @@B64@@\n", AGENT),
    P("k8s secret base64 json", "Kubernetes secrets (JSON)", "k8s/agent-secret.json",
      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"agent-6\"},\"data\":{\"jenkins-secret\":\"@@B64@@\"}}\n",
      AGENT),
    P("minified pod json", "kubectl get -o json output", "debug/pod.json",
      "{\"spec\":{\"containers\":[{\"name\":\"jnlp\",\"env\":[{\"name\":\"JENKINS_URL\",\"value\":\"http://jenkins:8080\"},"
      "{\"name\":\"JENKINS_SECRET\",\"value\":\"@@S@@\"},{\"name\":\"JENKINS_AGENT_NAME\",\"value\":\"a9\"}]}]}}\n",
      AGENT, None, "http://jenkins:8080"),
    P("jnlp file", "downloaded jenkins-agent.jnlp", "jenkins-agent.jnlp",
      "<jnlp codebase=\"https://jenkins.acme.io/computer/mac-01/\" spec=\"1.0+\">\n<application-desc main-class=\"hudson.remoting.jnlp.Main\">\n"
      "<argument>@@S@@</argument>\n<argument>mac-01</argument>\n<argument>-url</argument>\n<argument>https://jenkins.acme.io/</argument>\n"
      "</application-desc>\n</jnlp>\n", AGENT, None, A),
    P("winsw descriptor", "Windows service descriptors", "jenkins-agent.xml",
      "<service>\n  <id>jenkinsagent</id>\n  <name>Jenkins agent</name>\n"
      "  <description>This service runs an agent for Jenkins automation server (https://www.jenkins.io/).</description>\n"
      "  <executable>java.exe</executable>\n  <arguments>-Xrs -jar \"%BASE%\\agent.jar\" -jnlpUrl "
      "http://build.corp:8080/computer/win-3/jenkins-agent.jnlp -secret @@S@@ -workDir C:\\jenkins</arguments>\n"
      "  <log mode=\"roll\"></log>\n  <onfailure action=\"restart\" />\n"
      "  <download from=\"https://github.com/winsw/winsw/releases/download/v2.12.0/WinSW.NET4.exe\" to=\"%BASE%\\jenkins-agent.exe\"/>\n"
      "</service>\n", AGENT, None, "http://build.corp:8080"),
    P("ansible agent vars", "Ansible roles for agents", "roles/agent/defaults/main.yml",
      f"jenkins_agent_url: {C}\njenkins_agent_name: ansible-1\njenkins_agent_secret: @@S@@\n", AGENT, None, C),
    P("terraform user_data", "Terraform user_data", "infra/agent.tf",
      "  user_data = <<-EOF\n    #!/bin/bash\n    java -jar agent.jar -url http://jenkins.internal:8080/ -secret @@S@@ -name ec2-1\n  EOF\n",
      AGENT, None, "http://jenkins.internal:8080"),
    P("env file agent", ".env for agents", "agent.env",
      "JENKINS_URL=http://jenkins:8080\nJENKINS_AGENT_NAME=env-1\nJENKINS_SECRET=@@S@@\n", AGENT, None, "http://jenkins:8080"),
    P("agent log line", "agent logs pasted in issues", "logs/agent.log",
      f"INFO: Using secret @@S@@ for node\n+ java -jar agent.jar -url {E}/ -secret @@S@@ -name log-1\n", AGENT, None, E),
    P("helm values agent", "Helm values", "charts/agent/values.yaml",
      "agent:\n  jenkinsUrl: http://jenkins:8080\n  name: helm-1\n  JENKINS_SECRET: \"@@S@@\"\n", AGENT, None,
      "http://jenkins:8080"),
    P("powershell agent", "Windows agent scripts", "agent/start.ps1",
      "& java -jar agent.jar -url http://jenkins:8080/ -secret '@@S@@' -name ps-1 -workDir C:\\j\n", AGENT, None,
      "http://jenkins:8080"),
    P("minified json escaped", "logged pod specs", "logs/pods.jsonl",
      "{\"level\":\"info\",\"spec\":\"{\\\"env\\\":[{\\\"name\\\":\\\"JENKINS_SECRET\\\",\\\"value\\\":\\\"@@S@@\\\"}]}\"}\n", AGENT),
    P("groovy agent launch", "Groovy scripts that print agent launch commands", "scripts/agent.groovy",
      "println \"java -jar agent.jar -url ${jenkinsUrl} -secret @@S@@ -name groovy-1\"\n", AGENT),
    P("markdown code block", "docs", "docs/agent.md",
      "Start the agent:\n\n```bash\njava -jar agent.jar -url https://jenkins.acme.io/ -secret @@S@@ -name md-1 -workDir /tmp/j\n```\n",
      AGENT, None, A),
    P("chat paste", "chat exports", "export/ops.txt",
      "[10:02] bob: the new node is up, it runs `java -jar agent.jar -url http://jenkins.lab:8080 -secret @@S@@ -name lab-4`\n",
      AGENT, None, "http://jenkins.lab:8080"),
]

# --------------------------------------------------------------------------- trigger tokens

TRIGGERS = [
    P("curl build token", "webhook scripts", "hooks/post-commit",
      f"curl -s \"{A}/job/app/build?token=@@S@@\"\n", TRIGGER, None, A),
    P("buildWithParameters token", "webhook scripts", "hooks/deploy.sh",
      f"curl -X POST \"{C}/job/deploy/buildWithParameters?token=@@S@@&ENV=prod\"\n", TRIGGER, None, C),
    P("token after params", "webhook scripts", "hooks/deploy2.sh",
      f"wget -q -O- '{D}/job/deploy/buildWithParameters?ENV=stage&token=@@S@@'\n", TRIGGER, None, D),
    P("folder job", "webhook scripts", "hooks/folder.sh",
      f"curl '{B}/job/team/job/service/build?token=@@S@@&cause=push'\n", TRIGGER, None, B),
    P("buildByToken", "Build Authorization Token Root plugin docs", "docs/trigger.md",
      f"curl '{A}/buildByToken/build?job=app&token=@@S@@'\n", TRIGGER, None, A),
    P("buildByToken params", "Build Authorization Token Root plugin docs", "docs/trigger2.md",
      f"curl '{E}/buildByToken/buildWithParameters?job=app&token=@@S@@&VERSION=1.2'\n", TRIGGER, None, E),
    P("config.xml authToken", "job config.xml in jenkins_home backups", "jobs/app/config.xml",
      "<?xml version='1.1' encoding='UTF-8'?>\n<project>\n  <keepDependencies>false</keepDependencies>\n"
      "  <authToken>@@S@@</authToken>\n  <builders/>\n</project>\n", TRIGGER),
    P("config.xml authToken with scm", "job config.xml in jenkins_home backups", "jobs/svc/config.xml",
      "<project>\n  <scm class=\"hudson.plugins.git.GitSCM\">\n    <userRemoteConfigs>\n      <hudson.plugins.git.UserRemoteConfig>\n"
      "        <url>https://github.com/acme/svc.git</url>\n      </hudson.plugins.git.UserRemoteConfig>\n    </userRemoteConfigs>\n"
      "  </scm>\n  <authToken>@@S@@</authToken>\n</project>\n", TRIGGER),
    P("pipeline config.xml authToken", "pipeline job config.xml", "jobs/pipe/config.xml",
      "<flow-definition plugin=\"workflow-job\">\n  <authToken>@@S@@</authToken>\n  <definition class=\"org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition\"/>\n"
      "</flow-definition>\n", TRIGGER),
    P("GWT Jenkinsfile", "Jenkinsfiles with Generic Webhook Trigger", "Jenkinsfile",
      "pipeline {\n  agent any\n  triggers {\n    GenericTrigger(\n      genericVariables: [[key: 'ref', value: '$.ref']],\n"
      "      causeString: 'Triggered on $ref',\n      token: '@@S@@',\n      printContributedVariables: true\n    )\n  }\n}\n",
      TRIGGER),
    P("GWT properties", "scripted Jenkinsfiles with Generic Webhook Trigger", "ci/Jenkinsfile",
      "properties([\n  pipelineTriggers([\n    [$class: 'GenericTrigger', genericVariables: [[key: 'ref', value: '$.ref']],\n"
      "     token: \"@@S@@\", regexpFilterText: '$ref']\n  ])\n])\n", TRIGGER),
    P("GWT invoke url", "Gitea/Gogs webhook settings docs", "docs/webhook.md",
      f"Payload URL: `{A}/generic-webhook-trigger/invoke?token=@@S@@`\n", TRIGGER, None, A),
    P("GWT invoke curl", "webhook tests", "test/webhook.sh",
      f"curl -X POST -H 'Content-Type: application/json' -d @payload.json \"{C}/generic-webhook-trigger/invoke?token=@@S@@\"\n",
      TRIGGER, None, C),
    P("GWT JJB", "JJB job definitions", "jjb/jobs.yaml",
      "- job:\n    name: api-deploy\n    project-type: pipeline\n    triggers:\n      - generic-webhook-trigger:\n"
      "          post-content-params:\n            - type: JSONPath\n              key: ref\n              value: $.ref\n"
      "          token: @@S@@\n", TRIGGER),
    P("GWT config.xml", "job config.xml with Generic Webhook Trigger", "jobs/gwt/config.xml",
      "<triggers>\n  <org.jenkinsci.plugins.gwt.GenericTrigger plugin=\"generic-webhook-trigger@1.86.5\">\n"
      "    <regexpFilterText></regexpFilterText>\n    <printPostContent>false</printPostContent>\n"
      "    <token>@@S@@</token>\n  </org.jenkinsci.plugins.gwt.GenericTrigger>\n</triggers>\n", TRIGGER),
    P("GWT job dsl", "Job DSL scripts", "dsl/gwt.groovy",
      "pipelineJob('gwt') {\n  triggers {\n    genericTrigger {\n      genericVariables { genericVariable { key('ref'); value('$.ref') } }\n"
      "      token('@@S@@')\n      printContributedVariables(true)\n    }\n  }\n}\n", TRIGGER),
    P("job dsl authenticationToken", "Job DSL scripts", "dsl/jobs.groovy",
      "freeStyleJob('remote') {\n  authenticationToken('@@S@@')\n  steps { shell('make') }\n}\n", TRIGGER),
    P("JJB auth-token", "JJB job definitions", "jjb/remote.yaml",
      "- job:\n    name: remote-build\n    auth-token: @@S@@\n    builders:\n      - shell: make\n", TRIGGER),
    P("ruby method", "Ruby trigger clients", "lib/jenkins_trigger.rb",
      "class JenkinsTrigger\n  def trigger_token\n    '@@S@@'\n  end\n\n  def trigger!\n"
      f"    Net::HTTP.get(URI(\"{A}/job/deploy/build?token=#{{trigger_token}}\"))\n  end\nend\n", TRIGGER, None, A),
    P("python params dict", "Python trigger scripts", "trigger.py",
      f"jenkins_params = {{'token': '@@S@@'}}\nrequests.get('{C}/job/demo/build', params=jenkins_params)\n",
      TRIGGER, None, C),
    P("github actions webhook step", "GitHub Actions", ".github/workflows/jenkins.yml",
      f"      - run: curl -fsS \"{E}/job/app/build?token=@@S@@&cause=gha\"\n", TRIGGER, None, E),
    P("gitlab webhook doc", "GitLab webhook settings docs", "docs/gitlab.md",
      f"URL: {B}/job/app/build?token=@@S@@\n", TRIGGER, None, B),
    P("trigger with dash", "webhook scripts", "hooks/dash.sh",
      f"curl \"{A}/job/x/build?token=@@S@@\"\n", TRIGGER, None, A, "trigger-dash"),
    P("build log trigger", "CI logs", "logs/upstream.log",
      f"+ curl -s {D}/job/downstream/build?token=@@S@@\n", TRIGGER, None, D),
    P("chat trigger", "chat exports", "export/dev.txt",
      f"[14:20] dana: you can kick it with {A}/job/nightly/build?token=@@S@@ in a browser\n", TRIGGER, None, A),
    P("php trigger", "PHP deploy hooks", "deploy.php",
      f"<?php\nfile_get_contents('{C}/job/site/build?token=@@S@@');\n", TRIGGER, None, C),
]

# --------------------------------------------------------------------------- other kinds

OTHER_KINDS = [
    P("initialAdminPassword file", "committed jenkins_home", "jenkins_home/secrets/initialAdminPassword", "@@S@@\n",
      ADMIN, "admin"),
    P("setup wizard log", "docker logs pasted in issues", "logs/jenkins-startup.log",
      "*************************************************************\n\nJenkins initial setup is required. An admin user has been "
      "created and a password generated.\nPlease use the following password to proceed to installation:\n\n@@S@@\n\n"
      "This may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n", ADMIN, "admin"),
    P("master.key", "committed jenkins_home", "jenkins_home/secrets/master.key", "@@S@@", STORE),
    P("hudson.util.Secret", "committed jenkins_home", "backup/secrets/hudson.util.Secret", "@@S@@", STORE),
]

# --------------------------------------------------------------------------- hard negatives

VENDOR_KEYS = [
    N("datadog key in agent compose", "docker-compose with a Datadog sidecar", "docker-compose.yml",
      "services:\n  jenkins-agent:\n    image: jenkins/inbound-agent\n  datadog:\n    image: gcr.io/datadoghq/agent:7\n"
      "    environment:\n      - DD_API_KEY=@@S@@\n      - DD_SITE=datadoghq.com\n"),
    N("datadog key in shell rc", "dotfiles", ".bashrc",
      f"export JENKINS_URL={A}\nexport JENKINS_USER=alice\nexport DATADOG_API_KEY=@@S@@\n"),
    N("datadog app key", "dotfiles", ".zshrc", "# jenkins + datadog\nexport DD_APP_KEY=@@S@@\n", "hex40"),
    N("datadog in Jenkinsfile", "Jenkinsfiles", "Jenkinsfile",
      "pipeline {\n  environment {\n    DD_API_KEY = '@@S@@'\n  }\n  stages { stage('b') { steps { sh 'make' } } }\n}\n"),
    N("datadog jenkins plugin casc", "JCasC for the Datadog plugin", "casc/datadog.yaml",
      "unclassified:\n  datadogGlobalConfiguration:\n    targetApiKey: \"@@S@@\"\n    targetApiURL: \"https://api.datadoghq.com/api/\"\n"),
    N("newrelic license", "agent configs", "newrelic.yml",
      "common: &default_settings\n  license_key: '@@S@@'\n  app_name: jenkins\n", "hex40"),
    N("sentry dsn", "Jenkins plugin settings", "config/sentry.properties",
      "# reports jenkins job failures\ndsn=https://@@S@@@o12345.ingest.sentry.io/67890\n"),
    N("sentry key", "CI env", "ci.env", "JENKINS_URL=https://ci.acme.io\nSENTRY_KEY=@@S@@\n"),
    N("mailgun", "CI notification configs", "notify.env", "# jenkins mail\nMAILGUN_API_KEY=@@S@@\n"),
    N("algolia", "docs build in Jenkins", "docs/.env", "# built on jenkins\nALGOLIA_API_KEY=@@S@@\n"),
    N("bugsnag", "CI env", "build.env", "JENKINS_HOME=/var/jenkins_home\nBUGSNAG_API_KEY=@@S@@\n"),
    N("rollbar", "deploy notify step", "Jenkinsfile.deploy",
      "sh \"curl https://api.rollbar.com/api/1/deploy/ -F access_token=@@S@@ -F environment=prod\"\n"),
    N("pagerduty", "alerting config", "alerts.yml", "jenkins_alerts:\n  pagerduty_integration_key: @@S@@\n"),
    N("sonar token", "Jenkins + SonarQube", "sonar-project.properties",
      "# jenkins runs sonar\nsonar.login=@@S@@\nsonar.host.url=https://sonar.acme.io\n", "hex40"),
    N("github webhook secret", "Jenkins GitHub plugin docs", "docs/github.md",
      "jenkins github webhook\nGITHUB_WEBHOOK_SECRET=@@S@@\n"),
    N("docker hub token", "Jenkins pipeline env", "ci/docker.env", "# jenkins pushes images\nDOCKERHUB_TOKEN=@@S@@\n"),
    N("slack token jenkins", "Slack notifier plugin", "casc/slack.yaml",
      "unclassified:\n  slackNotifier:\n    teamDomain: acme\n    slackToken: @@S@@\n"),
    N("artifactory api key", "Jenkins Artifactory plugin env", "artifactory.env",
      "# used by jenkins\nARTIFACTORY_API_KEY=@@S@@\n"),
    N("npm token", "Jenkins npm publish", ".npmrc.jenkins", "//registry.npmjs.org/:_authToken=@@S@@\n"),
    N("codecov token", "Jenkinsfile", "Jenkinsfile.cov", "environment {\n  CODECOV_TOKEN = '@@S@@'\n}\n"),
    N("aws-like secret in jenkins env", "Jenkins env", "jenkins/aws.env", "AWS_SECRET_ACCESS_KEY=@@S@@\n"),
    N("vault token", "Jenkins vault plugin", "jenkins/vault.env", "VAULT_TOKEN=@@S@@\n"),
    N("grafana key", "CI dashboards", "grafana.env", "# jenkins metrics\nGRAFANA_API_KEY=@@S@@\n"),
    N("netrc github", ".netrc with a Jenkins entry", ".netrc",
      "# jenkins deploy machine\nmachine jenkins.acme.io login alice password $JENKINS_TOKEN\n"
      "machine github.com login alice password @@S@@\n", "api"),
    N("netrc nasa earthdata", ".netrc", "home/.netrc",
      "# jenkins downloads data with this\nmachine urs.earthdata.nasa.gov login bob password @@S@@\n"),
    N("netrc bitbucket hex", ".netrc", "netrc", "machine api.bitbucket.org login ci-bot password @@S@@\n# jenkins\n"),
    N("bitbucket api call", "Bitbucket Pipelines trigger scripts", "ci/bitbucket.sh",
      "curl -X POST -u ci-bot:@@S@@ https://api.bitbucket.org/2.0/repositories/acme/app/pipelines/  # run by jenkins\n",
      "api"),
    N("aws api gateway key", "deploy hooks calling API Gateway", "hooks/notify.sh",
      "curl -X POST -H \"x-api-key: @@S@@\" https://a1b2c3.execute-api.us-east-1.amazonaws.com/prod/deploy\n", "api"),
    N("k8s secret other base64 values", "Kubernetes Secrets (TLS keys, random passwords)", "k8s/app-secret.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n"
      f"  session-key: {base64.b64encode(secrets.token_bytes(34)).decode()}\n"
      f"  api-key: {b64('11' + secrets.token_hex(16).upper())}\n  password: @@B64@@\n", "hex32"),
    N("git remote credential github", "git configs", ".git-credentials",
      "https://jenkins-bot:@@S@@@github.com\n", "api"),
]

HASHES = [
    N("pbkdf2 colon", "jenkins/jenkins test resources", "src/test/resources/users.properties",
      "# jenkins users\nalice=1000:@@H@@:@@S@@\n"),
    N("pbkdf2 dollar", "jenkins/jenkins history", "core/src/test/Hashes.java",
      "String hash = \"jenkins:1024:abcdef0123456789$@@S@@\";\n"),
    N("user pbkdf2 colon", "password files", "jenkins/users.txt", "bob:1000:@@H@@:@@S@@\n"),
    N("jbcrypt pbkdf2", "users config.xml", "jenkins_home/users/carol_123/config.xml",
      "<passwordHash>#jbcrypt-pbkdf2:1000:@@H@@:@@S@@@@H@@</passwordHash>\n"),
    N("htpasswd md5", "htpasswd for a Jenkins proxy", "nginx/jenkins.htpasswd", "jenkins:$apr1$Xy12AbCd$@@S@@\n"),
    N("crypt sha512", "shadow-like files", "jenkins/shadow", "jenkins:$6$saltsalt$@@S@@:19000:0:99999:7:::\n"),
    N("ldap ssha", "LDAP exports", "ldap/jenkins.ldif", "dn: uid=jenkins,ou=svc\nuserPassword: {MD5}@@S@@\n"),
    N("md5sum line", "release checksums", "jenkins.war.md5", "@@S@@  jenkins.war\n"),
    N("md5 in Jenkinsfile", "Jenkinsfiles", "Jenkinsfile.verify", "sh 'echo \"@@S@@  app.tar.gz\" | md5sum -c -'\n"),
    N("sha256 of war", "Dockerfiles", "Dockerfile.jenkins",
      "ARG JENKINS_SHA=@@S@@\nRUN echo \"${JENKINS_SHA}  /usr/share/jenkins/jenkins.war\" | sha256sum -c -\n", "hex64"),
    N("sha256 plugin list", "plugins.txt with checksums", "plugins.txt", "git:5.2.1 sha256=@@S@@\n", "hex64"),
    N("update-center sha", "update-center.json", "update-center.json",
      "{\"plugins\":{\"git\":{\"name\":\"git\",\"sha256\":\"@@S@@\",\"url\":\"https://updates.jenkins.io/download/plugins/git/5.2.1/git.hpi\"}}}\n",
      "hex64"),
    N("sha1 git commit in Jenkinsfile", "Jenkinsfiles pinning a commit", "Jenkinsfile.pin",
      "checkout scmGit(branches: [[name: '@@S@@']], userRemoteConfigs: [[url: 'https://github.com/acme/app.git']])\n", "hex40"),
    N("library pin", "Jenkinsfiles", "Jenkinsfile.lib", "@Library('pipeline-lib@@@S@@') _\n", "hex40"),
    N("docker digest", "Dockerfiles", "Dockerfile.agent", "FROM jenkins/inbound-agent@sha256:@@S@@\n", "hex64"),
    N("k8s image digest", "pod templates", "pod.yaml",
      "containers:\n- name: jnlp\n  image: jenkins/inbound-agent@sha256:@@S@@\n  args: ['$(JENKINS_SECRET)', '$(JENKINS_NAME)']\n", "hex64"),
    N("gradle distribution sha", "gradle wrapper", "gradle/wrapper/gradle-wrapper.properties",
      "distributionSha256Sum=@@S@@\ndistributionUrl=https\\://services.gradle.org/distributions/gradle-8.5-bin.zip\n", "hex64"),
    N("go.sum", "Go modules", "go.sum", "github.com/bndr/gojenkins v1.1.0 h1:@@S@@=\n"),
    N("package-lock", "npm lockfiles", "package-lock.json",
      "\"node_modules/jenkins\": {\n  \"version\": \"1.1.0\",\n  \"resolved\": \"https://registry.npmjs.org/jenkins/-/jenkins-1.1.0.tgz\",\n"
      "  \"integrity\": \"sha1-@@S@@\"\n}\n"),
    N("poetry lock", "poetry.lock", "poetry.lock",
      "[[package]]\nname = \"python-jenkins\"\nfiles = [\n    {file = \"python_jenkins-1.8.2.tar.gz\", hash = \"sha256:@@S@@\"},\n]\n", "hex64"),
    N("pip hashes", "requirements with hashes", "requirements.txt", "python-jenkins==1.8.2 \\\n    --hash=sha256:@@S@@\n", "hex64"),
    N("stored token hash", "users config.xml", "jenkins_home/users/dave_1/config.xml",
      "<jenkins.security.apitoken.ApiTokenStore_-HashedToken>\n  <uuid>0f9a0a44-8b1c-4d3c-9a5e-0d7a2f1b6c3e</uuid>\n"
      "  <name>ci</name>\n  <value>\n    <version>11</version>\n    <hash>@@S@@</hash>\n  </value>\n</jenkins.security.apitoken.ApiTokenStore_-HashedToken>\n",
      "hex64"),
    N("apiTokenStats", "apiTokenStats.xml", "jenkins_home/users/dave_1/apiTokenStats.xml",
      "<tokenStats>\n  <tokenUuid>@@S@@</tokenUuid>\n  <useCounter>3</useCounter>\n</tokenStats>\n"),
    N("crumb json", "crumbIssuer answers in docs", "docs/crumb.json",
      "{\"_class\":\"hudson.security.csrf.DefaultCrumbIssuer\",\"crumb\":\"@@S@@\",\"crumbRequestField\":\"Jenkins-Crumb\"}\n", "hex64"),
    N("crumb header", "curl traces", "trace.txt", "> Jenkins-Crumb: @@S@@\n"),
    N("session header", "curl -i output", "notes/headers.txt",
      "HTTP/1.1 200 OK\nX-Jenkins: 2.452.1\nX-Jenkins-Session: 4a6b2c1d\nX-Instance-Identity: MIIBIjAN\nETag: \"@@S@@\"\n"),
    N("uuid without dashes", "job ids in logs", "logs/queue.log", "jenkins queue item @@S@@ left the queue\n"),
    N("credentials id uuid", "Jenkinsfiles", "Jenkinsfile.creds",
      "withCredentials([usernamePassword(credentialsId: '@@S@@', usernameVariable: 'U', passwordVariable: 'P')]) {\n  sh 'make'\n}\n",
      "uuid"),
    N("node secret encrypted", "node config.xml", "jenkins_home/nodes/agent1/config.xml",
      "<slave>\n  <name>agent1</name>\n  <launcher class=\"hudson.slaves.JNLPLauncher\"/>\n  <secret>{AQAAABAAAAAw@@S@@}</secret>\n</slave>\n"),
    N("encrypted authToken", "job config.xml (2.541+)", "jobs/new/config.xml",
      "<project>\n  <authToken>{AQAAABAAAAAQ@@S@@=}</authToken>\n</project>\n"),
    N("instance identity fingerprint", "docs", "docs/identity.md", "jenkins instance identity fingerprint: @@S@@\n"),
    N("etag in jenkins log", "Jenkins access logs", "logs/access.log",
      "10.0.0.1 - - [02/Apr/2023] \"GET /jenkins/static/@@S@@/css/style.css HTTP/1.1\" 200\n", "hex32"),
    N("resource path hash", "Jenkins HTML", "page.html",
      "<script src=\"/jenkins/static/@@S@@/scripts/hudson-behavior.js\"></script>\n"),
    N("git sha in changelog", "changelogs", "CHANGELOG.md", "* jenkins: fix trigger (@@S@@)\n", "hex40"),
    N("fingerprint page", "Jenkins fingerprint URLs", "docs/artifacts.md",
      "See https://jenkins.acme.io/fingerprint/@@S@@/ for the artifact's history.\n"),
    N("md5 of artifact in pom", "Maven metadata", "maven-metadata.xml.md5", "@@S@@\n"),
    N("random hex in test", "unit tests", "test/test_ids.py", "def test_ids():\n    assert make_id() != '@@S@@'  # jenkins job id\n"),
    N("hex64 in data", "data files", "data/vectors.txt", "@@S@@\n", "hex64"),
    N("sha256 cache key", "GitHub Actions cache", ".github/workflows/cache.yml",
      "      - uses: actions/cache@v4\n        with:\n          key: jenkins-${{ runner.os }}-@@S@@\n", "hex64"),
]

PLACEHOLDERS = [
    N("env var reference", "scripts", "bin/a.sh", "curl -u \"$JENKINS_USER:$JENKINS_API_TOKEN\" \"$JENKINS_URL/job/a/build\"\n"),
    N("template", "Helm templates", "templates/secret.yaml", "  token: {{ .Values.jenkins.apiToken | b64enc }}\n"),
    N("angle placeholder", "docs", "README.md", "java -jar jenkins-cli.jar -s https://jenkins.acme.io/ -auth alice:<API_TOKEN> who-am-i\n"),
    N("your token", "docs", "docs/cli.md", "curl -u admin:YOUR_API_TOKEN https://jenkins.acme.io/job/x/build\n"),
    N("stars", "docs", "docs/env.md", "JENKINS_API_TOKEN=*****\n"),
    N("doc sequential 11", "docs", "docs/example.md", f"JENKINS_API_TOKEN={DOC_RUNS}\n"),
    N("doc sequential 11 pairs", "docs", "docs/example2.md",
      f"-auth admin:{DOC_PAIRS}\n"),
    N("doc interleaved 11", "docs", "docs/example3.md",
      f"curl -u admin:{DOC_INTERLEAVED} https://jenkins.acme.io/api/json\n"),
    N("doc 0123456789abcdef", "docs", "docs/example4.md", f"JENKINS_TOKEN={DOC_COUNTING}\n"),
    N("doc 1234567890abcdef", "docs", "docs/example5.md", f"token: {DOC_COUNTING_FROM_1}\n"),
    N("trigger TOKEN_NAME", "docs", "docs/remote.md", "curl https://jenkins.acme.io/job/x/build?token=TOKEN_NAME\n"),
    N("trigger placeholder word", "docs", "docs/remote2.md",
      "JENKINS_URL/job/x/buildWithParameters?token=build-token&cause=Cause+Text\n"),
    N("trigger variable", "scripts", "hook.sh", "curl \"$JENKINS/job/x/build?token=${TRIGGER_TOKEN}\"\n"),
    N("trigger erb", "Chef templates", "templates/hook.erb", "curl <%= @url %>/job/x/build?token=<%= @token %>\n"),
    N("trigger mustache", "docs", "hook.tmpl", "curl {{jenkins}}/job/x/build?token={{token}}\n"),
    N("trigger groovy interpolation", "Jenkinsfiles", "Jenkinsfile.t", "sh \"curl ${JENKINS_URL}job/x/build?token=${params.TOKEN}\"\n"),
    N("java concat authToken", "jenkins/jenkins tests", "test/src/test/java/hudson/model/JobTest.java",
      "String xml = \"<project><authToken>\" + OLDTOKEN + \"</authToken></project>\";\n"),
    N("authToken placeholder", "docs", "docs/config.md", "<authToken>YOUR_TOKEN</authToken>\n"),
    N("GWT token variable", "Jenkinsfiles", "Jenkinsfile.gwt",
      "GenericTrigger(\n  genericVariables: [[key: 'ref', value: '$.ref']],\n  token: env.JOB_NAME,\n  causeString: 'x'\n)\n"),
    N("GWT token interpolated", "Jenkinsfiles", "Jenkinsfile.gwt2",
      "GenericTrigger(\n  token: \"${JOB_NAME}\",\n  causeString: 'x'\n)\n"),
    N("agent secret placeholder", "docs", "docs/agent.md", "java -jar agent.jar -url http://jenkins:8080 -secret <secret> -name <name>\n"),
    N("agent secret from file", "scripts", "agent.sh", "java -jar agent.jar -url http://jenkins:8080 -secret @secret-file -name a1\n"),
    N("agent secret env ref", "compose", "compose.yml", "    environment:\n      - JENKINS_SECRET=${AGENT_SECRET}\n"),
    N("k8s args refs", "pod templates", "agent-pod.yaml", "    args: ['$(JENKINS_SECRET)', '$(JENKINS_NAME)']\n"),
    N("zero token", "tests", "test/fixtures.env", f"JENKINS_API_TOKEN={DOC_ZERO}\n"),
    N("xxxx", "docs", "docs/x.md", "JENKINS_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"),
    N("masked in log", "CI logs", "logs/masked.log", "+ curl -u alice:**** https://jenkins.acme.io/job/a/build\n"),
    N("upper hex", "random configs", "x.env", "SOMETHING=11ABCDEF0123456789ABCDEF0123456789\n"),
    N("credential id reference", "Jenkinsfiles", "Jenkinsfile.c", "environment {\n  JENKINS_TOKEN = credentials('jenkins-api-token')\n}\n"),
    N("ansible vault ref", "Ansible", "group_vars/jenkins.yml", "jenkins_api_token: \"{{ vault_jenkins_api_token }}\"\n"),
    N("terraform var ref", "Terraform", "main.tf", "provider \"jenkins\" {\n  password = var.jenkins_api_token\n}\n"),
    N("allowlisted", "tests with fake tokens", "test/data.env", "JENKINS_API_TOKEN=@@S@@  # pragma: allowlist secret\n", "api"),
    N("jts allow", "tests with fake tokens", "test/data2.env", "JENKINS_API_TOKEN=@@S@@  # jts:allow\n", "api"),
]

POSITIVES: list[Case] = CLI_AND_HTTP + CONFIG_FILES + API_ONLY + AGENTS + TRIGGERS + OTHER_KINDS
NEGATIVES: list[Case] = VENDOR_KEYS + HASHES + PLACEHOLDERS
CASES: list[Case] = POSITIVES + NEGATIVES


@dataclass
class Tally:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    user_ok: int = 0
    user_total: int = 0
    url_ok: int = 0
    url_total: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def user_accuracy(self) -> float:
        return self.user_ok / self.user_total if self.user_total else 1.0

    @property
    def url_accuracy(self) -> float:
        return self.url_ok / self.url_total if self.url_total else 1.0


def evaluate(detector: Detector | None = None) -> dict:
    """Run every case once; per-kind tallies plus the cases that went wrong."""
    detector = detector or DetectorSpec().build()
    tallies: dict[str, Tally] = defaultdict(Tally)
    problems: list[str] = []
    code_users: list[str] = []
    for case in CASES:
        text, planted = expand(case)
        hits = detector.scan_blob(case.path, text.encode())
        code_users += [h.user for h in hits if h.user is not None and not plausible_user(h.user)]
        found = {(h.rule_id, h.secret): h for h in reversed(hits)}  # first hit of each finding wins
        for (rule_id, secret), hit in found.items():
            if case.rule == rule_id and secret == planted:
                continue
            tallies[rule_id].fp += 1
            problems.append(f"false positive ({rule_id}): {case.name} [{case.source}]")
        if case.rule is None:
            continue
        tally = tallies[case.rule]
        hit = found.get((case.rule, planted))
        if hit is None:
            tally.fn += 1
            problems.append(f"missed ({case.rule}): {case.name} [{case.source}]")
            continue
        tally.tp += 1
        for expected, got, what in ((case.user, hit.user, "user"), (case.url, hit.jenkins_url, "url")):
            if expected is None:
                continue
            ok = expected == got
            if what == "user":
                tally.user_total += 1
                tally.user_ok += ok
            else:
                tally.url_total += 1
                tally.url_ok += ok
            if not ok:
                problems.append(f"wrong {what} ({case.rule}): {case.name}: expected {expected!r}, got {got!r}")
    return {"tallies": dict(tallies), "problems": problems, "code_users": code_users,
            "positives": len(POSITIVES), "negatives": len(NEGATIVES)}


def main() -> None:
    result = evaluate()
    print(f"cases: {result['positives']} positive, {result['negatives']} hard negative")
    print(f"{'kind':<24} {'precision':>9} {'recall':>7} {'user':>6} {'url':>6}  (tp/fn/fp, users, urls)")
    for kind in KINDS:
        t = result["tallies"].get(kind)
        if t is None:
            continue
        print(f"{kind:<24} {t.precision:9.3f} {t.recall:7.3f} {t.user_accuracy:6.3f} {t.url_accuracy:6.3f}"
              f"  ({t.tp}/{t.fn}/{t.fp}, {t.user_ok}/{t.user_total}, {t.url_ok}/{t.url_total})")
    for problem in result["problems"]:
        print("  " + problem)
    if result["code_users"]:
        print("  code fragments reported as users:", result["code_users"])


if __name__ == "__main__":
    main()
