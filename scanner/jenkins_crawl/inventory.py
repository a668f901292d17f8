"""What a crawl covered, for the report's ``inventory`` (``kind: jenkins``): counts, and every item
that could not be read with the reason (rendered by ``reports/inventory_view.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

COUNT_KEYS = ("items", "folders", "jobs", "jobs_unchanged", "configs", "configs_unchanged", "builds", "builds_skipped",
              "logs", "log_bytes", "logs_truncated", "parameters", "password_parameters", "nodes", "views",
              "unreadable", "requests")


@dataclass
class Unreadable:
    item: str  # job full name, "node <name>", "view <name>", "" for the root
    what: str  # listing, config.xml, builds, log #12, ...
    reason: str

    @property
    def label(self) -> str:
        if not self.item:
            return "the root"
        return self.item if self.item.startswith(("node ", "view ")) else f"job {self.item}"


@dataclass
class CrawlInventory:
    """What one crawl covered."""

    url: str
    version: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {key: 0 for key in COUNT_KEYS})
    unreadable: list[Unreadable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
