"""``hpdeco dashboard``: a live, read-only page of a store's studies in the browser.

Standard library only (``http.server``); the page's script and style ship in
``hpdeco/dashboard/static`` and nothing is fetched from the internet. See
``docs/dashboard.md``.

>>> from hpdeco.dashboard import serve
>>> serve("runs/hpdeco.db", port=8750)   # blocks; Ctrl+C stops it
"""

from hpdeco.dashboard.command import add_arguments, cmd_dashboard, serve

__all__ = ["add_arguments", "cmd_dashboard", "serve"]
