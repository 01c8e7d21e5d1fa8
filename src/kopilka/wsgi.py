import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")
application = get_wsgi_application()
# Load every view while the worker starts, not during the first request it serves: importing the
# URLconf takes about 2 s (the back office's charts bring in matplotlib), and a till waited for it.
import_module(settings.ROOT_URLCONF)
