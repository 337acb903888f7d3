"""Settings for the fault benchmark's worker and beat processes.

The production settings, with time scaled down so that a run takes minutes:
beat's every-minute jobs run every ``BENCH_TICK`` seconds, and the task time
limits keep their production proportions to the outbox's claim timeout (240 :
300 : 600 s), so that a live dispatcher's claim is never taken back, whatever
``OUTBOX_CLAIM_TIMEOUT`` the benchmark chooses.
"""

import os

from coalition.settings import *  # noqa: F403
from coalition.settings import CELERY_BEAT_SCHEDULE as _PRODUCTION_SCHEDULE
from coalition.settings import OUTBOX_CLAIM_TIMEOUT

_TICK = float(os.environ.get("BENCH_TICK", "60"))

CELERY_BEAT_SCHEDULE = {
    name: {
        **entry,
        "schedule": _TICK if entry["schedule"] == 60.0 else entry["schedule"],
    }
    for name, entry in _PRODUCTION_SCHEDULE.items()
}
CELERY_TASK_SOFT_TIME_LIMIT = OUTBOX_CLAIM_TIMEOUT * 4 // 10
CELERY_TASK_TIME_LIMIT = OUTBOX_CLAIM_TIMEOUT * 5 // 10
