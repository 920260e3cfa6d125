"""`python -m tests.faults.worker -A omnidesk worker ...`: a real Celery worker whose WhatsApp read timeout is
FAULT_WHATSAPP_READ_TIMEOUT seconds instead of 20, so a fault test can make a send time out in a second or two.

The client's timeout is a module constant with no setting; the prefork pool forks after this runs, so every pool
process has the short timeout. Nothing else differs from `celery -A omnidesk worker`.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if os.environ.get("FAULT_WHATSAPP_READ_TIMEOUT"):
        from channels_plugins.whatsapp import client

        client.TIMEOUT_SECONDS = (client.TIMEOUT_SECONDS[0], float(os.environ["FAULT_WHATSAPP_READ_TIMEOUT"]))
    from celery.__main__ import main

    sys.argv[0] = "celery"
    sys.exit(main())
