"""Settings for ``make bench-compare``: the production settings, with the bench's
own URL configuration (``bench/urls.py``: the site's URLs plus two bare
baseline views). Only the benchmark's processes use this module; the site's
``ROOT_URLCONF`` never includes the baselines.
"""

from coalition.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
