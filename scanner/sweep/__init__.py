"""Incident-response sweeps: many repositories, all history, one consolidated and resumable result.

``targets`` turns TARGET arguments into repositories, ``task`` scans one repository (in any
process or on any Dask worker), ``state`` keeps the SQLite sweep state, ``runner`` drives the
executors, ``assemble`` builds the deduplicated findings, ``verifying`` checks tokens as they
appear, ``progress`` shows where the sweep is and ``html_report`` writes the self-contained page.
"""
