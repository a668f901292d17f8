"""What a candidate is not: hash strings, other vendors' keys, code posing as a user, other services' URLs.

Plain string checks on a few hundred characters around one candidate (no regex scans the
content here), so they cost nothing for blobs without candidates and stay linear on hostile lines.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from urllib.parse import urlsplit

# Words in a key that name another vendor's credential ("DD_API_KEY", "datadogApiKey", "sentry.dsn").
FOREIGN_KEY_WORDS = frozenset("""
dd datadog newrelic relic nr sentry github gh gitlab slack aws amazon stripe sendgrid mailgun mailchimp
pagerduty twilio npm npmjs docker dockerhub sonar sonarqube sonarcloud artifactory jfrog nexus bitbucket
azure gcp google heroku circleci circle travis codecov coveralls snyk honeycomb bugsnag rollbar algolia mapbox
segment mixpanel amplitude launchdarkly okta auth0 cloudflare digitalocean linode vault grafana influx
influxdb splunk loggly logdna papertrail opsgenie victorops pusher firebase jira confluence atlassian
discord telegram openai huggingface hf pypi rubygems nuget quay harbor browserstack saucelabs sauce
percy applitools buildkite drone teamcity bamboo appveyor netlify vercel fastly akamai contentful
shopify salesforce hubspot zendesk intercom freshdesk newrelickey elastic elasticsearch kibana logz
dynatrace appdynamics instana lightstep honeybadger raygun airbrake rollbar sumologic
""".split())
JENKINS_WORDS = ("jenkins", "hudson", "jnlp", "jjb")

# Hosts that are never a Jenkins: code hosts, registries, project sites, vendors' APIs.
OTHER_SERVICE_HOSTS = (
    "github.com", "githubusercontent.com", "github.io", "gitlab.com", "bitbucket.org", "atlassian.net",
    "amazonaws.com", "pypi.org", "pythonhosted.org", "npmjs.org", "npmjs.com", "yarnpkg.com", "docker.io",
    "docker.com", "quay.io", "ghcr.io", "gcr.io", "pkg.dev", "heroku.com", "azure.com", "visualstudio.com",
    "sourceforge.net", "launchpad.net", "googlesource.com", "google.com", "googleapis.com", "rubygems.org",
    "nuget.org", "maven.org", "sonatype.org", "jitpack.io", "gradle.org", "datadoghq.com", "datadoghq.eu",
    "sentry.io", "slack.com", "jenkins.io", "jenkins-ci.org", "stackoverflow.com", "stackexchange.com",
    "kubernetes.io", "k8s.io", "helm.sh", "apache.org", "eclipse.org", "wikipedia.org", "readthedocs.io",
    "readthedocs.org", "medium.com", "youtube.com", "twitter.com", "x.com", "linkedin.com",
    "earthdata.nasa.gov", "codecov.io", "coveralls.io", "snyk.io", "cloudflare.com", "digitalocean.com",
    "newrelic.com", "pagerduty.com", "twilio.com", "stripe.com", "sendgrid.net", "mailgun.net", "okta.com",
    "auth0.com", "openai.com", "huggingface.co", "hashicorp.com", "terraform.io", "ansible.com", "redhat.com",
    "microsoft.com", "apple.com", "mozilla.org", "python.org", "golang.org", "go.dev", "rust-lang.org",
    "nodejs.org", "oracle.com", "java.com", "openjdk.org", "adoptium.net", "ubuntu.com", "debian.org",
    "centos.org", "fedoraproject.org", "alpinelinux.org", "w3.org", "json-schema.org", "schema.org",
    "creativecommons.org", "opensource.org", "gnu.org", "mit.edu", "rollbar.com", "bugsnag.com", "sentry.io",
    "npmjs.org", "algolia.net", "mailgun.org", "datadog.com", "sonarcloud.io", "gitter.im", "shields.io",
)
# Hosts docs mention everywhere (license headers, badges): naming them says nothing about a line's secret.
COMMON_DOC_HOSTS = ("apache.org", "w3.org", "json-schema.org", "schema.org", "creativecommons.org", "opensource.org",
                    "gnu.org", "mit.edu", "wikipedia.org", "shields.io", "jenkins.io", "jenkins-ci.org",
                    "github.com", "gitlab.com", "google.com", "x.com", "go.dev", "k8s.io", "helm.sh", "python.org")
# A cloud provider's generic names for customer machines and load balancers (ec2-1-2-3-4.compute-1.amazonaws.com,
# x.us-east-1.elb.amazonaws.com, x.eastus.cloudapp.azure.com): a Jenkins runs there, no provider service does.
CLOUD_MACHINE_LABELS = {"amazonaws.com": ("compute", "compute-1", "elb"), "azure.com": ("cloudapp",)}
# Where a comment starts: a host named after one is a remark, not where the line's credential goes.
COMMENT_MARKERS = (" #", "\t#", " //", "\t//", "<!--")
HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# The hosts whose mention on a credential's line makes it theirs (docs hosts are named everywhere).
LINE_SERVICE_HOSTS = tuple(dict.fromkeys(h for h in OTHER_SERVICE_HOSTS if "." in h and h not in COMMON_DOC_HOSTS))
# The Jenkins project's own Jenkins instances live under jenkins.io.
JENKINS_PROJECT_CI = ("ci.jenkins.io", "ci.jenkins-ci.org")
CODE_PREFIXES = (
    "self.", "this.", "args.", "params.", "env.", "os.", "process.", "config.", "settings.", "options.", "opts.",
    "cfg.", "conf.", "credentials.", "creds.", "secrets.", "vars.", "props.", "properties.", "system.",
    "context.", "ctx.", "request.", "req.", "user.", "jenkins.", "node.", "item.", "data.", "input.",
)
CODE_WORDS = frozenset("""
str string int bool boolean any object null nil none undefined true false varchar username user userid
user_id password passwd token secret self this return def const function lambda
""".split())
USER_KEY_WORDS = frozenset(("user", "username", "login", "userid", "usr", "uid"))
URL_KEY_WORDS = frozenset(("url", "uri", "host", "hostname", "server", "endpoint", "address", "master", "baseurl",
                           "controller"))
# keys naming some other server or account than Jenkins' (a database user, a git remote, an SSH host)
OTHER_KEY_WORDS = frozenset("""
db database postgres postgresql mysql mongo redis smtp mail email ldap proxy ssh git scm repo repository registry
docker image nexus sonar ansible callback webhook redirect cdn s3 bucket vault kafka rabbit amqp jdbc
""".split())
JENKINS_HOST_LABELS = ("ci", "build", "builds", "jenkins", "hudson", "cicd")
CODE_CHARS = frozenset("()[]{}<>&*$=!;,'\"`\\|%#?:^~ \t")


def key_words(key: str) -> list[str]:
    """``DD_API_KEY`` / ``datadogApiKey`` / ``sentry.dsn`` -> lower-case words."""
    words: list[str] = []
    current = ""
    previous = ""
    for char in key:
        if not char.isalnum():
            if current:
                words.append(current.lower())
            current = ""
        elif char.isupper() and previous.islower():
            words.append(current.lower())
            current = char
        else:
            current += char
        previous = char
    if current:
        words.append(current.lower())
    return words


def names_other_vendor(key: str) -> bool:
    """A key naming another vendor's credential, and not Jenkins: its value is that vendor's."""
    lowered = key.lower()
    if any(word in lowered for word in JENKINS_WORDS):
        return False
    return any(word in FOREIGN_KEY_WORDS for word in key_words(key))


def is_user_key(key: str) -> bool:
    """A key that holds a (Jenkins) user name: JENKINS_USER, jenkins_admin_username, userName, :username."""
    words = key_words(key)
    if not words or len(words) > 5 or any(w in OTHER_KEY_WORDS or w in FOREIGN_KEY_WORDS for w in words):
        return False
    return words[-1] in USER_KEY_WORDS or words[-2:] in (["user", "id"], ["user", "name"], ["login", "name"])


def is_url_key(key: str) -> bool:
    """A key that holds a (Jenkins) server URL: JENKINS_URL, server_url, remoteJenkinsUrl, address, endPoint."""
    words = key_words(key)
    if not words or len(words) > 5 or any(w in OTHER_KEY_WORDS or w in FOREIGN_KEY_WORDS for w in words):
        return False
    return words[-1] in URL_KEY_WORDS or (words[-1] == "point" and words[-2:-1] == ["end"])


def looks_like_jenkins_host(host: str) -> bool:
    """jenkins.acme.io, ci.corp.local, build-01.example.org: hosts that name a build server."""
    host = host.lower()
    if "jenkins" in host or "hudson" in host:
        return True
    first = host.split(".", 1)[0]
    return first in JENKINS_HOST_LABELS or first.split("-", 1)[0] in JENKINS_HOST_LABELS


def is_cloud_machine_host(host: str) -> bool:
    """ec2-54-1-2-3.compute-1.amazonaws.com, ci-123.us-east-1.elb.amazonaws.com, build.eastus.cloudapp.azure.com."""
    for domain, labels in CLOUD_MACHINE_LABELS.items():
        if host.endswith("." + domain):
            return any(label in labels for label in host[:-len(domain) - 1].split("."))
    return False


@dataclass(frozen=True)
class LineServices:
    """A line cut at its comments, and whether each part names another service's host: a credential is
    that service's only when its own part does (``TOKEN=...  # see https://sentry.io`` is not Sentry's)."""

    starts: tuple[int, ...]  # where each part begins (the first at 0)
    named: tuple[bool, ...]

    def at(self, offset: int) -> bool:
        return self.named[bisect.bisect_right(self.starts, offset) - 1]


NO_SERVICES = LineServices((0,), (False,))


def services_on_line(line: str) -> LineServices:
    """Which comment-delimited parts of ``line`` name another service's host (api.rollbar.com,
    registry.npmjs.org), as a host and not within a longer name, and not Jenkins."""
    lowered = line.lower()
    if not any(host in lowered for host in LINE_SERVICE_HOSTS):
        return NO_SERVICES  # most lines: one C-level search per host, nothing to cut
    starts = _part_starts(lowered)
    named = [False] * len(starts)
    for host in LINE_SERVICE_HOSTS:
        pos = lowered.find(host)
        while pos != -1:
            if _is_host_mention(lowered, pos, pos + len(host)):
                named[bisect.bisect_right(starts, pos) - 1] = True
            pos = lowered.find(host, pos + len(host))
    ends = starts[1:] + [len(lowered)]
    for index, is_named in enumerate(named):
        part = lowered[starts[index]:ends[index]]
        # a part naming Jenkins too (a Jenkins URL, a JENKINS_ key) is not another service's call
        named[index] = is_named and "jenkins" not in part and "hudson" not in part
    return LineServices(tuple(starts), tuple(named))


def _part_starts(lowered: str) -> list[int]:
    """Where a comment starts, and where the code of the next physical line does (continued lines)."""
    starts = [0]
    line_start = 0
    for physical in lowered.split("\n"):
        found = [i for i in (physical.find(m) for m in COMMENT_MARKERS) if i != -1]
        if found:
            starts.append(line_start + min(found))
            starts.append(line_start + len(physical) + 1)
        line_start += len(physical) + 1
    return sorted(set(starts))


def _is_host_mention(lowered: str, start: int, end: int) -> bool:
    """The text at [start, end) ends a whole host name that is not a cloud provider's machine."""
    if start > 0 and lowered[start - 1] in HOST_CHARS and lowered[start - 1] != ".":
        return False  # dropbox.com is not x.com
    after = lowered[end:end + 2]
    if after[:1] in HOST_CHARS and not (after[:1] == "." and after[1:] not in HOST_CHARS):
        return False  # amazonaws.com.cn, github.community: another name ("github.com." ends a sentence)
    first = start
    while first > 0 and lowered[first - 1] in HOST_CHARS:
        first -= 1
    return not is_cloud_machine_host(lowered[first:end])


def is_encrypted_value(line: str, start: int) -> bool:
    """The candidate sits inside a Jenkins-encrypted secret ({AQAAABAAAA...}): ciphertext, not a token."""
    return _word_before(line, start).lstrip("'\"").startswith("{AQAA")


def plausible_user(value: str) -> bool:
    """A Jenkins user id, not a code fragment (``User.get(``, ``&str``, ``JENKINS_TOKEN``, ``self.user``)."""
    if not value or len(value) > 64 or any(char in CODE_CHARS for char in value):
        return False
    if value.lower() in CODE_WORDS or value.lower().startswith(CODE_PREFIXES):
        return False
    # SHOUTING_SNAKE_CASE is an environment variable or constant, not a user id
    if "_" in value and value.upper() == value and any(c.isalpha() for c in value):
        return False
    return not value.endswith((".", "-")) and not (value.isdigit() and len(value) > 12)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_other_service(url: str, git_remote: bool = True) -> bool:
    """A URL that is never a Jenkins root: a code host, a project or vendor site, a git remote.

    ``git_remote=False`` judges the host alone (``https://u:t@jenkins.corp/scm/repo.git`` is a
    Jenkins-hosted repository whose credential is a Jenkins token).
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if git_remote and parts.path.rstrip("/").endswith(".git"):
        return True
    if any(host == h or host.endswith("." + h) for h in JENKINS_PROJECT_CI) or is_cloud_machine_host(host):
        return False
    return any(host == h or host.endswith("." + h) for h in OTHER_SERVICE_HOSTS)


def in_hash_string(line: str, start: int, end: int) -> bool:
    """The candidate at [start, end) of ``line`` is the salt or digest of a password hash string.

    Shapes: PBKDF2 ``1024:<salt>$<hash>``, ``1000:<salt>:<hash>`` (also after ``user:`` or
    ``#jbcrypt-pbkdf2:``), crypt/htpasswd ``$id$salt$hash`` (``$1$``, ``$5$``, ``$6$``, ``$apr1$``,
    ``$2a$``...), LDAP-style ``{SSHA}``/``{SHA}``/``{PBKDF2}`` prefixes.
    """
    before = _word_before(line, start)
    after = line[end:end + 1]
    if before.lstrip("'\"").startswith("{AQAA"):
        return True  # a Jenkins-encrypted secret's ciphertext
    if "{" in before and "}" in before and before.lstrip("'\"").startswith("{"):
        scheme = before[before.index("{") + 1:before.index("}")].upper()
        if scheme.startswith(("SHA", "SSHA", "MD5", "SMD5", "CRYPT", "PBKDF2", "BCRYPT", "ARGON")):
            return True
    if "jbcrypt" in before.lower() or "pbkdf2" in before.lower():
        return True
    if before.endswith("$") and (before.startswith("$") or ":$" in before) and before.count("$") >= 2:
        return True
    if before.endswith((":", "$")):
        fields = before[:-1].replace("$", ":").split(":")
        if any(f.isdigit() and 3 <= len(f) <= 7 for f in fields[-2:]):
            return True
    # the salt, followed by its digest: "<iterations>:<salt>:<digest>" seen from the salt
    if after in (":", "$") and before.endswith((":", "$")):
        fields = before[:-1].replace("$", ":").split(":")
        return bool(fields) and fields[-1].isdigit() and 3 <= len(fields[-1]) <= 7
    return False


def _word_before(line: str, start: int, limit: int = 160) -> str:
    """The run of non-space, non-quote characters that ends right before ``start``."""
    first = start
    stop = max(0, start - limit)
    while first > stop and line[first - 1] not in " \t'\"<>=(),;`":
        first -= 1
    return line[first:start]
