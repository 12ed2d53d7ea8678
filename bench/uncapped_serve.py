"""``serve`` with the attachment cap raised, for relaying a file larger than it.

The service refuses to attach recording files over 100 MiB (a policy, matching
Mattermost's default maximum file size). The relay benchmark moves a 200 MB file
through the same code, so its serve process raises that one constant first:
``BENCH_MAX_ATTACHMENT_BYTES=<bytes> python -m bench.uncapped_serve serve ...``.
"""

from __future__ import annotations

import os
import sys

from mattermost_zoom import cli
from mattermost_zoom.core import recordings


def main() -> int:
    cap = int(os.environ["BENCH_MAX_ATTACHMENT_BYTES"])
    recordings.MAX_ATTACHMENT_BYTES = cap  # read at call time by the recording workflow
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
