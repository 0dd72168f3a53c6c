"""A site at work, in a process of its own: members subscribing one after
another, each member and subscription in one transaction, and a narration
whose file is being written the whole time.

    python -m tests.backups.writer READY STOP

touches READY once a subscription has committed and the narration's write
has begun, keeps going until STOP exists, then finishes the narration and
prints how many subscriptions it committed.
"""

import os
import sys
import threading
import time
from pathlib import Path

NARRATION = "audio/narrations/being-written.mp3"
FINISHED_NARRATION = "audio/narrations/finished.mp3"
PIECE = b"\xff\xfb" + bytes(range(256)) * 64


def main(ready, stop):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
    import django

    django.setup()
    from django.core.files.base import File
    from django.db import transaction

    from masthead.accounts.models import User
    from masthead.billing.models import Plan, Subscription
    from masthead.core.storage import private_storage, save_atomically

    class Narrating(File):
        """Audio that keeps coming until the site is told to stop."""

        def __init__(self):
            super().__init__(None, name="narration.mp3")
            self.begun = threading.Event()

        def chunks(self, chunk_size=None):
            while not stop.exists():
                yield PIECE
                self.begun.set()
                # A pace, not a timing the test relies on: the file keeps
                # growing through the backup without filling the disk.
                time.sleep(0.02)
            yield PIECE

    save_atomically(private_storage, FINISHED_NARRATION, PIECE * 8)
    narration = Narrating()
    writing = threading.Thread(target=save_atomically, args=(private_storage, NARRATION, narration))
    writing.start()
    plan = Plan.objects.order_by("pk").first()
    committed = 0
    while not stop.exists():
        with transaction.atomic():
            member = User.objects.create_user(f"writer-{committed}@example.com")
            Subscription.objects.create(member=member, plan=plan, status="active")
        committed += 1
        if committed == 1:
            narration.begun.wait(30)
            ready.touch()
    writing.join(60)
    print(committed)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
