"""The ASGI entry point: the gateway on the event loop, every other path to Django.

uvicorn portal.asgi:application   (what `make run` starts, see Procfile)
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_application = get_asgi_application()

from gateway.asgi import application_for  # noqa: E402  (needs the apps loaded)

application = application_for(django_application)
