"""jenkins-token-scanner: find, verify and revoke leaked Jenkins credentials."""

__version__ = "0.1.0"
