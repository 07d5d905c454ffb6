"""WSGI entry point for gunicorn and the development server.

Only a web server imports this module (manage.py commands and the tests do not), so this is
where the web process warms up for the time-series API, which composes with the selection
kernels and searches the archive like an order: `services.warm_up` runs in a thread beside the
server, so pages are served at once and the first series is as fast as the next (a series
asked for meanwhile waits for the kernels numba is compiling, as it would without it).
It also gives GDAL the web process's larger block cache (`memory.serve_web`), before any
raster is read. Not with gunicorn --preload: the master would warm up before forking its
workers, which would then die at their first kernel (numba's OpenMP layer is not fork-safe;
see compositing.selection.warmup).
"""

import os
import threading

from django.core.wsgi import get_wsgi_application

from compositing import memory

memory.serve_web()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
application = get_wsgi_application()


def _warm_up_beside_the_server() -> None:
    from hub.mosaics import services  # needs the apps that get_wsgi_application set up

    threading.Thread(target=services.warm_up, name="warm-up", daemon=True).start()


_warm_up_beside_the_server()
