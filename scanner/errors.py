"""The one base class for expected failures: the CLI prints their message as one line, exit 2."""


class JtsError(Exception):
    """An expected failure (bad input, unreachable repo, bad setting) whose message is safe to print."""
