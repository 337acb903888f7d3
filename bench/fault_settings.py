"""Settings for the fault benchmark's worker and beat processes.

The production settings, with time scaled down so that a run takes minutes:
beat's every-minute jobs run every ``BENCH_TICK`` seconds, and the wait before a
lost signer email is queued again, the dispatcher's budget and the task time
limits keep their production proportions to the claim timeout (120 : 180 : 240 :
300 : 600 s), so that a live sender's claim is never taken back, whatever
``DELIVERY_CLAIM_TIMEOUT`` the benchmark chooses.
"""

import os

from coalition.settings import *  # noqa: F403
from coalition.settings import CELERY_BEAT_SCHEDULE as _PRODUCTION_SCHEDULE
from coalition.settings import DELIVERY_CLAIM_TIMEOUT

_TICK = float(os.environ.get("BENCH_TICK", "60"))

CELERY_BEAT_SCHEDULE = {
    name: {
        **entry,
        "schedule": _TICK if entry["schedule"] == 60.0 else entry["schedule"],
    }
    for name, entry in _PRODUCTION_SCHEDULE.items()
}
DELIVERY_DISPATCH_BUDGET = DELIVERY_CLAIM_TIMEOUT * 3 // 10
SIGNATURE_EMAIL_RETRY_AFTER = DELIVERY_CLAIM_TIMEOUT * 2 // 10
CELERY_TASK_SOFT_TIME_LIMIT = DELIVERY_CLAIM_TIMEOUT * 4 // 10
CELERY_TASK_TIME_LIMIT = DELIVERY_CLAIM_TIMEOUT * 5 // 10
