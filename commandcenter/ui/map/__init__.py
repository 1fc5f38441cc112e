"""The live site map: hazard zone, evacuation routes and nearest resources, fully offline.

The map page shows the site in a ``QWebEngineView`` whose page is built from
:mod:`commandcenter.geo` with every asset inline (no tiles, nothing over the network). Python
updates the page in place through a few JavaScript functions (:mod:`.script`); the page talks
back through a ``QWebChannel`` with strictly checked JSON messages (:mod:`.bridge`). Routing runs
on a worker thread with one router built once per site (:mod:`.routing`). The page is registered
in :mod:`commandcenter.ui.extensions` from :mod:`.pages`.
"""
