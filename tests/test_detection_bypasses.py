"""Misses a red-team review confirmed, through `jts scan` as a user runs it (values generated at run time).

Each shape was once missed: a crumb header or a ``<hash>`` on the token's line hid every token of the
line; a cloud provider's generic host (EC2, ELB, Azure cloudapp) or a vendor URL in a comment was
taken for another service; a token right after an escape ending in a hex digit (``%3A``, ``\\u003d``);
a Makefile ``?=`` assignment.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from tests.helpers import jts, new_token, write_files

URL = "https://jenkins.example.com"


def scan(tree: Path) -> dict[str, dict]:
    run = jts("scan", ".", "-f", "json", "--show-secrets", "--no-progress", cwd=tree)
    assert run.code in (0, 1), run.output
    return {f["secret"]: f for f in json.loads(run.stdout)["findings"]}


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
