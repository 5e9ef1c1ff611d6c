"""A worker process for the campaign kill tests: runs a campaign's start (or resumes it) and delivers the rows it
queues inline, as one `omo worker` thread would, and dies by SIGKILL at a chosen point:

    python -m tests.campaign_worker start|job CAMPAIGN_ID ISO_TIME [die-in-step:K | die-after-send:K]

`start` starts the campaign; `job` runs the minute job (which resumes a start whose worker died).

* `die-in-step:K`: in the K-th step writing outbox chunks, after the rows are written but before the commit;
* `die-after-send:K`: right after LINE accepted the K-th multicast, before its outcome is recorded.

Its clock is stopped at ISO_TIME (the test's clock). Settings come from the environment (DATABASE_URL,
PUBLIC_BASE_URL, OMO_TESTING=1).
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from typing import Any

from bot import campaign_runner, tasks
from bot.clock import FixedClock
from bot.line_client import LineClient
from bot.queue import huey
from bot.runtime import get_runtime
from bot.services.marketing import campaign_start


def _die_on(count: int, wrapped: Any) -> Any:
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        result = wrapped(*args, **kwargs)
        calls += 1
        if calls == count:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


def main() -> None:
    action, campaign_id, at = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    if len(sys.argv) > 4:
        point, count = sys.argv[4].split(":")
        if point == "die-in-step":
            campaign_start.write_next_chunks = _die_on(int(count), campaign_start.write_next_chunks)  # type: ignore[assignment]
        else:
            LineClient.multicast = _die_on(int(count), LineClient.multicast)  # type: ignore[method-assign]
    huey.immediate = True  # the deliveries the runner queues run here, one after another
    runtime = get_runtime()
    runtime.clock = FixedClock(at)
    if action == "start":
        campaign_runner.start(runtime, campaign_id)
    else:
        tasks.send_due_campaigns.call_local()


if __name__ == "__main__":
    main()
