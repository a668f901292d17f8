"""``jts scan-jenkins``: crawl a live Jenkins over its REST API for leaked credentials.

``api.py`` (polite requests, streamed logs), ``items.py`` (the recursive item walk), ``builds.py``
(which builds to read), ``content.py`` (configs, logs, parameters through the detector),
``places.py`` (the ``jenkins://`` locations), ``inventory.py`` (what a crawl covered), ``jobs.py``
(one job: config, builds, logs), ``crawl.py`` (the whole crawl: items, jobs in a pool, nodes,
views), ``memory.py`` (``--state``: what earlier crawls scanned), ``credential.py`` (who the crawl
logs in as).
"""
