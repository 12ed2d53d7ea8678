import sys

from mattermost_zoom.cli import main

sys.exit(main())
