"""Public entry point of the Jenkins test server; the implementation lives in `testserver/`.

    with JenkinsTestServer(home=tmp_path / "jenkins_home", options=ServerOptions(version="2.578")) as srv:
        srv.add_user("alice", password="pw")
        token = srv.create_token("alice", name="ci")
"""
from __future__ import annotations

import sys

from .testserver import (CreatedToken, FaultRule, Faults, JenkinsTestServer, RequestLog, RequestRecord,
                         ServerOptions, TokenDetails, TokenInfo, UnknownUserError)
from .testserver.cli import main, run_forever, serve

__all__ = ["CreatedToken", "FaultRule", "Faults", "JenkinsTestServer", "RequestLog", "RequestRecord",
           "ServerOptions", "TokenDetails", "TokenInfo", "UnknownUserError", "main", "run_forever", "serve"]

if __name__ == "__main__":
    sys.exit(main())
