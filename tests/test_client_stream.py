"""``client.stream``: the streamed GET the crawl reads console logs with, under the client's rules
(redirects within the root, retries on 5xx only, capped bodies, no Content-Encoding inflated)."""

from __future__ import annotations

import httpx

from scanner.jenkins.client import Answer, HttpSettings, StreamedBody, stream

ROOT = "http://ci.test/jenkins"
SETTINGS = HttpSettings(timeout=5, retries=2, backoff=0)


def client(answers: dict[str, list[httpx.Response]], seen: list[str]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        queue = answers[request.url.path]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(answer.status_code, headers=answer.headers, stream=httpx.ByteStream(answer.content))

    from scanner.jenkins.client import make_client

    made = make_client(SETTINGS)  # the event hook that keeps Location from httpx
    return httpx.Client(transport=httpx.MockTransport(handle), event_hooks=made.event_hooks, follow_redirects=False)


def test_stream_reads_line_by_line_up_to_the_cap_after_a_retry_and_a_redirect_in_the_root() -> None:
    seen: list[str] = []
    answers = {"/jenkins/log": [httpx.Response(503), httpx.Response(302, headers={"Location": "/jenkins/real"})],
               "/jenkins/real": [httpx.Response(200, content=b"one\ntwo\n" + b"x" * 100)]}
    with stream(client(answers, seen), f"{ROOT}/log", SETTINGS, limit=20, auth="Basic abc", root=ROOT) as body:
        assert isinstance(body, StreamedBody)
        assert body.readline() == b"one\n" and body.readline() == b"two\n"
        assert len(body.read()) == 12 and body.truncated and body.received == 20
    assert seen == ["/jenkins/log", "/jenkins/log", "/jenkins/real"]


def test_stream_refuses_what_it_must_not_read() -> None:
    seen: list[str] = []
    answers = {"/jenkins/out": [httpx.Response(302, headers={"Location": "http://ci.test/admin/"})],
               "/jenkins/gzip": [httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8b")],
               "/jenkins/gone": [httpx.Response(404)]}
    c = client(answers, seen)
    with stream(c, f"{ROOT}/out", SETTINGS, limit=100, root=ROOT) as out:
        assert isinstance(out, Answer) and "outside the Jenkins root" in (out.error or "")
    with stream(c, f"{ROOT}/gzip", SETTINGS, limit=100, root=ROOT) as packed:
        assert isinstance(packed, StreamedBody) and packed.read() == b"" and "Content-Encoding" in (packed.problem or "")
    with stream(c, f"{ROOT}/gone", SETTINGS, limit=100, root=ROOT) as gone:
        assert isinstance(gone, Answer) and gone.status == 404
    assert "/admin/" not in seen
