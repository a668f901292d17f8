"""CI integrations: the GitHub Action's logic (``github_action``) and ``jts ci`` commands.

The composite action in ``action.yml`` only passes its inputs as environment variables to
``jts ci github``: the logic lives here, in Python, where it is tested, never in ``run:`` scripts.
"""
