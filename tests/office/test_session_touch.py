"""The background session refresher (``office.session_touch``) ends with its database."""

from __future__ import annotations

import time

from office import session_touch
from office.db import Database, utcnow


def test_a_stop_just_after_a_refresh_ends_the_thread_at_once(db: Database) -> None:
    """A stop that came while the thread lingered for more refreshes had its wake-up cleared with the
    refresh's: the thread then waited until ``stop``'s join gave up, 10 s at every shutdown."""
    touches = session_touch.SessionTouches(db)
    touches.note(0, utcnow())  # no such session: the UPDATE changes nothing
    time.sleep(session_touch.LINGER / 4)  # the thread has woken and lingers for company
    touches.stop()
    assert touches._thread is not None and not touches._thread.is_alive()
