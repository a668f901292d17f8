"""A labelled corpus of leak shapes and hard negatives, filled with fresh values on every run.

Each case plants at most one secret (the first placeholder). Positives name the rule, and where
the text holds them the user and Jenkins URL the engine must extract. ``python -m tests.corpus``
prints precision and recall (the figures quoted in the README).
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.detect import Detector, DetectorSpec
from scanner.rulecheck import expand
from tests.helpers import DOC_ZERO


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    text: str
    rule: str | None = None  # None: hard negative, nothing may be found
    user: str | None = None
    url: str | None = None


J = "https://jenkins.example.com"

POSITIVES = [
    Case("cli -auth", "deploy.sh", "java -jar jenkins-cli.jar -s https://jenkins.example.com/ -auth alice:{api_token} build app\n",
         "api_token", "alice", J),
    Case("cli -auth, -s after", "deploy.sh", "java -jar jenkins-cli.jar -auth alice:{api_token} -s https://jenkins.example.com/ who-am-i\n",
         "api_token", "alice", J),
    Case("curl -u", "trigger.sh", "curl -X POST -u bob:{api_token} https://jenkins.example.com/job/app/build\n", "api_token", "bob", J),
    Case("curl --user", "trigger.sh", "curl --user 'bob:{api_token}' 'https://jenkins.example.com/job/app/buildWithParameters?X=1'\n",
         "api_token", "bob", J),
    Case("curl continued lines", "trigger.sh",
         "curl -X POST \\\n  -u carol:{api_token} \\\n  https://jenkins.example.com/job/app/build\n", "api_token", "carol", J),
    Case("url userinfo", "README.md", "Trigger: https://dave:{api_token}@jenkins.example.com/job/app/build\n", "api_token", "dave", J),
    Case("url userinfo with port and path", "notes.txt", "http://erin:{api_token}@ci.internal:8080/jenkins/job/a/build\n",
         "api_token", "erin", "http://ci.internal:8080/jenkins"),
    Case("basic header", "api.http", "GET https://jenkins.example.com/whoAmI/api/json\nAuthorization: Basic {basic:frank:api_token}\n",
         "api_token", "frank", J),
    Case("basic header, tab separated", "api.http",
         "GET https://jenkins.example.com/whoAmI/api/json\nAuthorization: Basic\t{basic:frank:api_token}\n",
         "api_token", "frank", J),
    Case("basic header in python", "client.py",
         "headers = {{'Authorization': 'Basic {basic:gina:api_token}'}}\nrequests.get('https://jenkins.example.com/api/json', headers=headers)\n",
         "api_token", "gina", J),
    Case("env file", ".env", "JENKINS_URL=https://jenkins.example.com\nJENKINS_USER_ID=hank\nJENKINS_API_TOKEN={api_token}\n",
         "api_token", "hank", J),
    Case("env file export", "env.sh", "export JENKINS_URL=https://jenkins.example.com\nexport JENKINS_USER=ivy\nexport JENKINS_TOKEN=\"{api_token}\"\n",
         "api_token", "ivy", J),
    Case("github actions yaml", ".github/workflows/ci.yml",
         "jobs:\n  build:\n    env:\n      JENKINS_URL: https://jenkins.example.com\n      JENKINS_USER: jack\n      JENKINS_API_TOKEN: {api_token}\n",
         "api_token", "jack", J),
    Case("gitlab ci variables", ".gitlab-ci.yml",
         "variables:\n  JENKINS_URL: \"https://jenkins.example.com\"\n  JENKINS_USER_ID: \"kate\"\n  JENKINS_API_TOKEN: \"{api_token}\"\n",
         "api_token", "kate", J),
    Case("dockerfile env", "Dockerfile",
         "FROM alpine\nENV JENKINS_URL https://jenkins.example.com\nENV JENKINS_USER_ID=liam\nENV JENKINS_API_TOKEN={api_token}\n",
         "api_token", "liam", J),
    Case("k8s env list", "deploy/k8s.yaml",
         "env:\n  - name: JENKINS_URL\n    value: https://jenkins.example.com\n  - name: JENKINS_USER_ID\n    value: mia\n"
         "  - name: JENKINS_API_TOKEN\n    value: \"{api_token}\"\n", "api_token", "mia", J),
    Case("k8s secret stringData", "deploy/secret.yaml",
         "apiVersion: v1\nkind: Secret\nstringData:\n  jenkins-user: noah\n  jenkins-token: {api_token}\n  jenkins-url: https://jenkins.example.com\n",
         "api_token", "noah", J),
    Case("netrc", ".netrc", "machine jenkins.example.com login olga password {api_token}\n", "api_token", "olga", J),
    Case("netrc multiline", "netrc", "machine jenkins.example.com\n  login olga\n  password {api_token}\n", "api_token", "olga", J),
    Case("jenkins_jobs.ini", "jenkins_jobs.ini", "[jenkins]\nuser=paul\npassword={api_token}\nurl=https://jenkins.example.com\n",
         "api_token", "paul", J),
    Case("python-jenkins", "tools/jobs.py",
         "import jenkins\nserver = jenkins.Jenkins('https://jenkins.example.com', username='quinn', password='{api_token}')\n",
         "api_token", "quinn", J),
    Case("jenkinsapi", "tools/jobs.py",
         "from jenkinsapi.jenkins import Jenkins\nJ = Jenkins(\"https://jenkins.example.com\", username=\"rose\", password=\"{api_token}\")\n",
         "api_token", "rose", J),
    Case("api4jenkins auth tuple", "tools/jobs.py",
         "from api4jenkins import Jenkins\nclient = Jenkins('https://jenkins.example.com/', auth=('sam', '{api_token}'))\n",
         "api_token", "sam", J),
    Case("groovy", "vars/deploy.groovy",
         "def jenkinsUrl = \"https://jenkins.example.com\"\ndef user = 'tina'\ndef apiToken = '{api_token}'\n",
         "api_token", "tina", J),
    Case("properties", "gradle.properties",
         "jenkins.url=https://jenkins.example.com\njenkins.user=uma\njenkins.apiToken={api_token}\n", "api_token", "uma", J),
    Case("json", "config.json",
         "{{\n  \"jenkins\": {{\n    \"url\": \"https://jenkins.example.com\",\n    \"username\": \"vic\",\n    \"token\": \"{api_token}\"\n  }}\n}}\n",
         "api_token", "vic", J),
    Case("json escaped", "events.json",
         "{{\"cmd\": \"curl -u wes:{api_token} \\\"https://jenkins.example.com/job/a/build\\\"\"}}\n", "api_token", "wes", J),
    Case("xml", "settings.xml",
         "<server>\n  <id>jenkins</id>\n  <url>https://jenkins.example.com</url>\n  <username>xena</username>\n  <password>{api_token}</password>\n</server>\n",
         "api_token", "xena", J),
    Case("notebook", "analysis.ipynb",
         "{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"JENKINS_URL = 'https://jenkins.example.com'\\n\", "
         "\"JENKINS_USER = 'yara'\\n\", \"JENKINS_TOKEN = '{api_token}'\\n\"]}}]}}\n", "api_token", "yara", J),
    Case("markdown code block", "docs/setup.md",
         "Run:\n\n```\njava -jar jenkins-cli.jar -s https://jenkins.example.com -auth zack:{api_token} list-jobs\n```\n",
         "api_token", "zack", J),
    Case("bare token in code", "app.js", "const JENKINS = '{api_token}';\n", "api_token"),
    Case("token at line start", "token.txt", "{api_token}\n", "api_token"),
    Case("url-encoded userinfo", "log.txt", "GET https://amy%40corp:{api_token}@jenkins.example.com/api/json\n", "api_token", None, J),
    Case("cli env vars inline", "Makefile",
         "deploy:\n\tJENKINS_USER_ID=ben JENKINS_API_TOKEN={api_token} java -jar jenkins-cli.jar -s https://jenkins.example.com build x\n",
         "api_token", "ben", J),
    Case("legacy in env", ".env", "JENKINS_URL=https://jenkins.example.com\nJENKINS_USER_ID=cat\nJENKINS_API_TOKEN={hex32}\n",
         "legacy_api_token", "cat", J),
    Case("legacy curl", "trigger.sh", "curl -u dan:{hex32} https://jenkins.example.com/job/app/build\n", "legacy_api_token", "dan", J),
    Case("legacy netrc", ".netrc", "machine jenkins.example.com login eve password {hex32}\n", "legacy_api_token", "eve", J),
    Case("legacy basic", "api.http",
         "GET https://jenkins.example.com/api/json\nAuthorization: Basic {basic:fay:hex32}\n", "legacy_api_token", "fay", J),
    Case("legacy jjb ini", "jenkins_jobs.ini", "[jenkins]\nuser=gus\npassword={hex32}\nurl=https://ci.example.org\n",
         "legacy_api_token", "gus", "https://ci.example.org"),
    Case("agent -secret", "start-agent.sh",
         "java -jar agent.jar -url https://jenkins.example.com/ -secret {hex64} -name node1 -workDir /w\n", "agent_secret", None, J),
    Case("agent jnlpUrl", "start-agent.bat",
         "java -jar agent.jar -jnlpUrl https://jenkins.example.com/computer/node1/jenkins-agent.jnlp -secret {hex64} -workDir C:\\w\n",
         "agent_secret", None, J),
    Case("agent docker env", "docker-compose.yml", "services:\n  agent:\n    environment:\n      - JENKINS_SECRET={hex64}\n",
         "agent_secret"),
    Case("agent jnlp file", "agent.jnlp", "<application-desc><argument>{hex64}</argument><argument>node1</argument></application-desc>\n",
         "agent_secret"),
    Case("trigger token url", "hooks.sh", "curl 'https://jenkins.example.com/job/deploy/build?token={word}'\n",
         "build_trigger_token", None, J),
    Case("trigger token params", "hooks.sh",
         "wget -q \"https://jenkins.example.com/job/deploy/buildWithParameters?token={word}&cause=hook\"\n",
         "build_trigger_token", None, J),
    Case("trigger token buildByToken", "hooks.sh",
         "curl 'https://jenkins.example.com/buildByToken/build?job=deploy&token={word}'\n", "build_trigger_token", None, J),
    Case("trigger token config.xml", "jobs/deploy/config.xml", "<project>\n  <authToken>{word}</authToken>\n</project>\n",
         "build_trigger_token"),
    Case("master.key", "jenkins_home/secrets/master.key", "{hex256}", "jenkins_secret_store"),
    Case("initialAdminPassword file", "jenkins_home/secrets/initialAdminPassword", "{hex32}\n", "initial_admin_password", "admin"),
    Case("initialAdminPassword log", "jenkins.log",
         "Please use the following password to proceed to installation:\n\n{hex32}\n\n"
         "This may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n", "initial_admin_password", "admin"),
]

NEGATIVES = [
    Case("env placeholder", ".env", "JENKINS_API_TOKEN=${JENKINS_API_TOKEN}\n"),
    Case("template", "values.yaml", "jenkinsToken: {{{{ .Values.jenkins.token }}}}\n"),
    Case("angle placeholder", "README.md", "curl -u alice:<TOKEN> https://jenkins.example.com/job/x/build\n"),
    Case("your token", "README.md", "java -jar jenkins-cli.jar -auth alice:your_api_token -s https://jenkins.example.com\n"),
    Case("xxxx", "README.md", "JENKINS_API_TOKEN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"),
    Case("all zero", ".env", f"JENKINS_API_TOKEN={DOC_ZERO}\n"),
    Case("all zero 34", ".env", "JENKINS_API_TOKEN={zero_token}\n"),
    Case("sequential", ".env", "JENKINS_API_TOKEN=11" + "0123456789abcdef" * 2 + "\n"),
    Case("doc example", "README.md", "JENKINS_API_TOKEN={doc_token}\n"),
    Case("repeated", ".env", "JENKINS_API_TOKEN=11" + "ab" * 16 + "\n"),
    Case("md5 in jenkins file", "Jenkinsfile", "sh 'echo {hex32}  app.tar.gz | md5sum -c'\n"),
    Case("md5 sum list", "checksums.md5", "{hex32}  jenkins.war\n"),
    Case("uuid no dashes", "ids.txt", "jenkins job id {hex32}\n"),
    Case("crumb json", "crumb.json", "{{\"_class\":\"hudson.security.csrf.DefaultCrumbIssuer\",\"crumb\":\"{hex64}\",\"crumbRequestField\":\"Jenkins-Crumb\"}}\n"),
    Case("crumb header", "req.http", "Jenkins-Crumb: {hex32}\n"),
    Case("legacy crumb json", "crumb.json", "{{\"crumb\":\"{hex32}\",\"crumbRequestField\":\"Jenkins-Crumb\"}}\n"),
    Case("user config hash", "jenkins_home/users/alice_123/config.xml",
         "<value>\n  <version>11</version>\n  <hash>{hex64}</hash>\n</value>\n"),
    Case("git sha", "CHANGELOG.md", "Fixed in commit {hex32}abcd1234 (jenkins)\n"),
    Case("docker digest", "Dockerfile", "FROM jenkins/jenkins@sha256:{hex64}\n"),
    Case("poetry lock hash", "poetry.lock", "files = [\n    {{file = \"jenkins-1.0.tar.gz\", hash = \"sha256:{hex64}\"}},\n]\n"),
    Case("npm integrity", "package-lock.json", "\"integrity\": \"sha512-{hex64}\"\n"),
    Case("go.sum", "go.sum", "github.com/bndr/gojenkins v1.1.0 h1:{hex32}=\n"),
    Case("password without jenkins", "app/settings.py", "DB_PASSWORD = '{hex32}'\n"),
    Case("token without jenkins", "app/config.ini", "[github]\ntoken={hex32}\n"),
    Case("agent secret file ref", "start.sh", "java -jar agent.jar -url https://jenkins.example.com/ -secret @secret-file -name n1\n"),
    Case("sha256 in jenkins plugin list", "plugins.txt", "git:5.2.1 sha256={hex64}\n"),
    Case("trigger token variable", "hooks.sh", "curl \"https://jenkins.example.com/job/x/build?token=$TOKEN\"\n"),
    Case("trigger token template", "hooks.sh", "curl \"https://jenkins.example.com/job/x/build?token={{{{ token }}}}\"\n"),
    Case("trigger token encrypted", "jobs/x/config.xml", "<authToken>{{AQAAABAAAAAQabcdefghijklmnopqrstuvwxyz0123456789ABCD=}}</authToken>\n"),
    Case("pragma allowlist", ".env", "JENKINS_API_TOKEN={api_token}  # pragma: allowlist secret\n"),
    Case("jts allow", "deploy.sh", "curl -u bob:{api_token} https://jenkins.example.com/job/x/build # jts:allow\n"),
    Case("uppercase token-like", ".env", "SOMETHING=11ABCDEF0123456789ABCDEF0123456789\n"),
    Case("hex inside longer hex", "data.txt", "{hex64}\n"),
    Case("master.key docs", "docs/master.key.md", "{hex256}\n"),
    Case("password hash salt", "jenkins_home/users/alice_1/config.xml",
         "<passwordHash>#jbcrypt-pbkdf2:1000:{hex32}:{hex64}</passwordHash>\n"),
    Case("initial admin elsewhere", "notes.txt", "some value {hex32}\n"),
]


def evaluate(detector: Detector | None = None) -> dict:
    """Run the corpus once; returns counts plus the cases that went wrong."""
    detector = detector or DetectorSpec().build()
    tp = fn = fp = 0
    context_ok = context_total = 0
    problems: list[str] = []
    for case in POSITIVES + NEGATIVES:
        text, planted = expand(case.text)
        hits = detector.scan_blob(case.path, text.encode())
        if case.rule is None:
            fp += len(hits)
            problems += [f"false positive: {case.name} ({h.rule_id})" for h in hits]
            continue
        mine = [h for h in hits if h.rule_id == case.rule and h.secret == planted]
        others = [h for h in hits if h not in mine]
        fp += len(others)
        problems += [f"extra hit: {case.name} ({h.rule_id})" for h in others]
        if not mine:
            fn += 1
            problems.append(f"missed: {case.name}")
            continue
        tp += 1
        for expected, got, what in ((case.user, mine[0].user, "user"), (case.url, mine[0].jenkins_url, "url")):
            if expected is not None:
                context_total += 1
                if expected == got:
                    context_ok += 1
                else:
                    problems.append(f"wrong {what}: {case.name}: expected {expected!r}, got {got!r}")
    return {
        "positives": len(POSITIVES), "negatives": len(NEGATIVES), "tp": tp, "fn": fn, "fp": fp,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
        "context_accuracy": context_ok / context_total if context_total else 1.0, "problems": problems,
    }


def main() -> None:
    result = evaluate()
    print(f"cases: {result['positives']} positive, {result['negatives']} hard negative")
    print(f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
          f"user/URL extraction {result['context_accuracy']:.3f}")
    for problem in result["problems"]:
        print("  " + problem)


if __name__ == "__main__":
    main()
