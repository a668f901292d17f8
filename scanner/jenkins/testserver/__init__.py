"""A protocol-faithful Jenkins test server (see /work/shared/jenkins-api.md for the facts it follows)."""
from .faults import CannedResponse, FaultRule, Faults
from .options import ServerOptions
from .reqlog import RequestLog, RequestRecord
from .server import JenkinsTestServer
from .state import CreatedToken, TokenDetails, TokenInfo, UnknownUserError

__all__ = ["CannedResponse", "CreatedToken", "FaultRule", "Faults", "JenkinsTestServer", "RequestLog", "RequestRecord",
           "ServerOptions", "TokenDetails", "TokenInfo", "UnknownUserError"]
