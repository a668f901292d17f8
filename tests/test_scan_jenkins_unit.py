"""The crawler's pieces against a small in-process Jenkins (httpx MockTransport): item walk, build
selection, log streaming with notes and caps, config field names, locations. The CLI against the
real test server is in test_scan_jenkins.py."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from scanner.detect import DetectorSpec
from scanner.jenkins.client import HttpSettings
from scanner.jenkins_crawl import builds as bl
from scanner.jenkins_crawl.api import CrawlApi, Politeness
from scanner.jenkins_crawl.crawl import CrawlOptions, Crawler, CrawlRefused, JobMemory
from scanner.jenkins_crawl.items import Refused, tree_query, walk_items
from scanner.jenkins_crawl.places import describe, item_path, raw_encode
from scanner.jenkins.testserver.home_content import console_note
from tests.helpers import new_token

ROOT = "http://ci.test:8080/jenkins"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
FREESTYLE = "hudson.model.FreeStyleProject"


class FakeJenkins:
    """Items as a dict tree; answers the few URLs the crawler asks, counts requests."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}  # full name -> {"folder": bool, "config": str, "builds": {n: {...}}}
        self.requests: list[str] = []
        self.status: dict[str, int] = {}  # path -> forced status
        self.nodes: dict[str, str] = {}

    def add(self, name: str, folder: bool = False, config: str = "<project/>", builds: dict | None = None) -> None:
        self.items[name] = {"folder": folder, "config": config, "builds": builds or {}}

    def children(self, parent: str) -> list[str]:
        prefix = parent + "/" if parent else ""
        return [n for n in self.items if n.startswith(prefix) and "/" not in n[len(prefix):]]

    def listing(self, parent: str, depth: int) -> list[dict]:
        out = []
        for name in self.children(parent):
            entry: dict = {"_class": FOLDER if self.items[name]["folder"] else FREESTYLE}
            if depth > 0:
                entry["name"] = name.rsplit("/", 1)[-1]
            if self.items[name]["folder"]:
                entry["jobs"] = self.listing(name, depth - 1) if depth > 0 else []
            out.append(entry)
        return out

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        path = url.path[len("/jenkins"):]
        self.requests.append(path + ("?" + url.query if url.query else ""))
        if path in self.status:
            return httpx.Response(self.status[path], text="no")
        headers = {"X-Jenkins": "2.578"}
        segments = [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
        names = []
        while len(segments) >= 2 and segments[0] == "job":
            names.append(segments[1])
            segments = segments[2:]
        full = "/".join(names)
        if segments == ["api", "json"] and not full:
            return httpx.Response(200, json={"_class": "hudson.model.Hudson", "jobs": self.listing("", 3),
                                             "views": [{"name": "all"}]}, headers=headers)
        if segments[:1] == ["computer"]:
            if segments == ["computer", "api", "json"]:
                return httpx.Response(200, json={"computer": [{"_class": "hudson.model.Hudson$MasterComputer",
                                                               "displayName": "Built-In Node"}]
                                                 + [{"displayName": n} for n in self.nodes]}, headers=headers)
            return httpx.Response(200, text=self.nodes[segments[1]], headers=headers)
        if segments[:1] == ["view"]:
            return httpx.Response(403, headers={"X-Required-Permission": "hudson.model.View.Read"})
        item = self.items.get(full)
        if item is None:
            return httpx.Response(404)
        if segments == ["api", "json"]:
            tree = parse_qs(url.query)["tree"][0]
            if item["folder"]:
                return httpx.Response(200, json={"jobs": self.listing(full, 3)}, headers=headers)
            numbers = sorted(item["builds"], reverse=True)
            entries = [{"number": n, "timestamp": item["builds"][n].get("time", n * 1000),
                        "building": item["builds"][n].get("building", False),
                        "description": item["builds"][n].get("description"),
                        "actions": [{"_class": "hudson.model.ParametersAction",
                                     "parameters": item["builds"][n].get("parameters", [])}]} for n in numbers]
            if tree.startswith("allBuilds"):
                return httpx.Response(200, json={"allBuilds": entries}, headers=headers)
            return httpx.Response(200, json={"builds": entries[:100],
                                             "firstBuild": {"number": numbers[-1]} if numbers else None},
                                  headers=headers)
        if segments == ["config.xml"]:
            return httpx.Response(200, text=item["config"], headers={"Content-Type": "application/xml"})
        if len(segments) == 3 and segments[1:] == ["logText", "progressiveText"]:
            build = item["builds"].get(int(segments[0]))
            if build is None:
                return httpx.Response(404)
            log = build.get("log", "").encode()
            return httpx.Response(200, content=log, headers={"X-Text-Size": str(len(log))})
        return httpx.Response(404)


def streamed(fake: FakeJenkins):  # noqa: ANN201
    """A real server's answers are streams (httpx reads a content= answer at once, then refuses to stream it)."""
    def handle(request: httpx.Request) -> httpx.Response:
        answer = fake.handler(request)
        return httpx.Response(answer.status_code, headers=answer.headers, stream=httpx.ByteStream(answer.content))
    return handle


def crawler(fake: FakeJenkins, options: CrawlOptions | None = None, memory: JobMemory | None = None) -> Crawler:
    client = httpx.Client(transport=httpx.MockTransport(streamed(fake)))
    api = CrawlApi(ROOT, None, Politeness(http=HttpSettings(timeout=5, retries=0), per_host=2, rate=10000), client)
    return Crawler(api, DetectorSpec().build(), options or CrawlOptions(), memory or JobMemory())


def paths_of(result) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for hit, location in result.hits:
        out.setdefault(hit.secret, []).append((location.path, location.line))
    return out


def test_tree_query_and_names() -> None:
    assert tree_query(2) == "jobs[name,jobs[name,jobs]]"
    assert raw_encode("team a/ü") == "team%20a%2F%C3%BC"
    assert item_path("team a/app") == "job/team%20a/job/app"
    assert describe("jenkins://h/jenkins/job/team%20a/job/app/12/console") == "job team a/app #12 console"
    assert describe("jenkins://h/job/a/config.xml#builders/x") == "job a config.xml [builders/x]"
    assert describe("jenkins://h/computer/agent-1/config.xml#env:X") == "node agent-1 config.xml [env:X]"
    assert describe("jenkins-home://jobs/a/config.xml") is None


def test_walk_follows_folders_deeper_than_one_request() -> None:
    fake = FakeJenkins()
    names = ["a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e", "a/b/c/d/e/job"]
    for name in names[:-1]:
        fake.add(name, folder=True)
    fake.add(names[-1])
    fake.add("top")
    api = crawler(fake).api
    problems: list[Refused] = []
    found = [item.full_name for item in walk_items(api, problems.append)]
    assert sorted(found) == sorted(names + ["top"])
    assert not problems
    assert sum(1 for r in fake.requests if "api/json" in r) == 2  # one follow-up for the deepest folder


def test_walk_skips_hostile_entries_with_a_reason() -> None:
    fake = FakeJenkins()
    api = crawler(fake).api
    problems: list[Refused] = []
    listing = {"jobs": [{"name": "ok", "_class": FREESTYLE}, "x", {"name": 5}, {"name": "a/b"}, {"name": ".."}]}
    found = [item.full_name for item in walk_items(api, problems.append, first=listing)]
    assert found == ["ok"]
    assert "4 entries not understood" in problems[0].reason


def test_build_selection_asks_for_all_builds_only_when_needed() -> None:
    newest = [bl.Build(n, n * 1000, False) for n in range(250, 150, -1)]
    assert bl.need_all_builds(newest, 1, after=None, since_ms=None, limit=None)
    assert not bl.need_all_builds(newest, 1, after=None, since_ms=None, limit=10)
    assert not bl.need_all_builds(newest, 1, after=200, since_ms=None, limit=None)
    assert not bl.need_all_builds(newest, 1, after=None, since_ms=200_000, limit=None)
    assert not bl.need_all_builds(newest, 151, after=None, since_ms=None, limit=None)
    chosen = bl.select(newest, after=240, since_ms=None, limit=3)
    assert [b.number for b in chosen.builds] == [250, 249, 248]
    assert chosen.older_than_known == 90 and chosen.beyond_limit == 7
    assert bl.done_through(240, [250, 249], [248]) == 247
    assert bl.done_through(None, [3, 2], []) == 3
    assert bl.done_through(5, [], []) == 5


def test_parse_builds_ignores_what_makes_no_sense() -> None:
    parsed, bad = bl.parse_builds([{"number": 3, "actions": [{"parameters": [{"name": "P", "value": "v"}]}]},
                                   {"number": "4"}, {"number": True}, {"number": -1}, None])
    assert [b.number for b in parsed] == [3] and bad == 4
    assert parsed[0].parameters[0].value == "v"


def test_crawl_finds_tokens_with_places() -> None:
    fake = FakeJenkins()
    in_log, in_config, in_param, in_node, in_desc = (new_token() for _ in range(5))
    fake.add("team", folder=True)
    log = "".join(f"{console_note()}step {i}\n" for i in range(30)) + f"+ curl -u deploy:{in_log} https://x/\n"
    fake.add("team/app", config=f"<project><builders><hudson.tasks.Shell><command>curl -u ci:{in_config} "
                                f"$JENKINS_URL</command></hudson.tasks.Shell></builders></project>",
             builds={1: {"log": "nothing\n"},
                     2: {"log": log, "description": f"jenkins token {in_desc}",
                         "parameters": [{"_class": "hudson.model.StringParameterValue", "name": "JENKINS_TOKEN",
                                         "value": in_param},
                                        {"_class": "hudson.model.PasswordParameterValue", "name": "PW"}]}})
    fake.nodes["agent 1"] = (f"<slave><nodeProperties><hudson.slaves.EnvironmentVariablesNodeProperty><envVars>"
                             f"<tree-map><int>1</int><string>JENKINS_API_TOKEN</string><string>{in_node}</string>"
                             f"</tree-map></envVars></hudson.slaves.EnvironmentVariablesNodeProperty></nodeProperties>"
                             f"</slave>")
    result = crawler(fake).run()
    found = paths_of(result)
    base = "jenkins://ci.test:8080/jenkins"
    assert found[in_log] == [(f"{base}/job/team/job/app/2/console", 31)]
    assert found[in_config] == [(f"{base}/job/team/job/app/config.xml#builders/hudson.tasks.Shell/command", 1)]
    assert found[in_param] == [(f"{base}/job/team/job/app/2/parameters#parameter:JENKINS_TOKEN", 1)]
    assert found[in_desc] == [(f"{base}/job/team/job/app/2/description", 1)]
    assert found[in_node] == [(f"{base}/computer/agent%201/config.xml#env:JENKINS_API_TOKEN", 1)]
    log_hit = next(loc for hit, loc in result.hits if hit.secret == in_log)
    assert log_hit.column == len("+ curl -u deploy:") + 1  # columns of the line as people read it, notes removed
    assert all(hit.jenkins_url for hit, _ in result.hits)
    counts = result.inventory.counts
    assert counts["jobs"] == 1 and counts["folders"] == 1 and counts["builds"] == 2 and counts["logs"] == 2
    assert counts["password_parameters"] == 1 and counts["nodes"] == 1
    assert [u.what for u in result.inventory.unreadable] == ["config.xml"]  # the view: 403
    assert "View.Read" in result.inventory.unreadable[0].reason


def test_log_cap_and_deleted_log_are_reported_and_the_crawl_goes_on() -> None:
    fake = FakeJenkins()
    late = new_token()
    fake.add("big", builds={1: {"log": "x" * 100 + "\n" + ("y" * 99 + "\n") * 3000 + f"jenkins {late}\n"}})
    fake.add("gone", builds={1: {"log": "a\n"}, 2: {"log": "b\n"}})
    fake.status["/job/gone/2/logText/progressiveText"] = 404
    result = crawler(fake, CrawlOptions(max_log_bytes=64 * 1024)).run()
    assert late not in paths_of(result)
    assert any("--max-log-mb" in w for w in result.warnings)
    assert result.inventory.counts["logs_truncated"] == 1
    gone = [u for u in result.inventory.unreadable if u.item == "gone"]
    assert gone and "404" in gone[0].reason


def test_root_refusals_end_the_crawl_with_one_line() -> None:
    for status, words in ((401, "rejected (HTTP 401)"), (403, "lacks Overall/Read")):
        fake = FakeJenkins()
        fake.status["/api/json"] = status
        with pytest.raises(CrawlRefused, match=words.replace("(", r"\(").replace(")", r"\)")):
            crawler(fake).run()


def test_scope_options() -> None:
    fake = FakeJenkins()
    fake.add("a", builds={n: {"log": f"{n}\n", "time": n * 1000} for n in range(1, 11)})
    fake.add("b", builds={1: {"log": "1\n"}})
    result = crawler(fake, CrawlOptions(job_globs=("a",), builds=3, since_ms=9000, logs=False)).run()
    counts = result.inventory.counts
    assert counts["builds"] == 2 and counts["logs"] == 0  # 9 and 10: since and N together
    assert not any("logText" in r for r in fake.requests) and not any("/job/b/" in r for r in fake.requests)


def test_json_of_the_wrong_shape_is_a_reason_not_a_crash() -> None:
    fake = FakeJenkins()
    fake.add("a", builds={1: {"log": "1\n"}})
    original = fake.handler

    def hostile(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/job/a/api/json"):
            return httpx.Response(200, content=b"[1, 2" + b"]" * 3)
        return original(request)

    fake.handler = hostile  # type: ignore[method-assign]
    result = crawler(fake).run()
    assert [(u.item, u.what) for u in result.inventory.unreadable][0] == ("a", "builds")
    assert "not a JSON object" in result.inventory.unreadable[0].reason


def test_inventory_json_shape() -> None:
    from scanner.reports.inventory_view import crawl_dict

    fake = FakeJenkins()
    fake.add("a")
    data = crawl_dict(crawler(fake).run().inventory)
    assert data["kind"] == "jenkins" and data["version"] == "2.578"
    json.dumps(data)


def test_names_a_second_decoding_would_turn_into_a_climb_are_never_requested() -> None:
    """A hostile listing names an item ``%2e%2e``: its URL segment ``%252e%252e`` reads ``..`` to a
    server that decodes twice, so it is recorded as unreadable and nothing is asked below it."""
    fake = FakeJenkins()
    fake.add("%2e%2e", builds={1: {"log": "a\n"}})
    fake.add("feature%2Fx", builds={1: {"log": f"jenkins {new_token()}\n"}})  # what Jenkins names branch feature/x
    result = crawler(fake).run()
    assert not [r for r in fake.requests if "%252e" in r.lower()]
    reasons = {(u.item, u.what): u.reason for u in result.inventory.unreadable}
    assert "ambiguous path segment" in reasons[("%2e%2e", "config.xml")]
    assert [loc.path for _, loc in result.hits] == ["jenkins://ci.test:8080/jenkins/job/feature%252Fx/1/console"]


def test_encoded_segments_are_checked_one_by_one() -> None:
    from scanner.jenkins.urls import UnusableUrl, below, parse_http_url

    root = parse_http_url("http://ci.test/jenkins/")
    assert below(root, "job/mb/job/feature%252Fx/api/json", "tree=a[b]").text == \
        "http://ci.test/jenkins/job/mb/job/feature%252Fx/api/json?tree=a[b]"
    for bad in ("..", "%2E%2E", "%252E%252E", "a%252F..%252Fb", "a%253Bx", "a%255Cb", "%2Fx", "a%25252Fb",
                "a;b", "a b", "a%2fb", ""):
        with pytest.raises(UnusableUrl):
            below(root, f"job/{bad}/config.xml")
