"""The sandbox deployment under the names the tests use."""

from mattermost_zoom.simulators.sandbox import (
    Sandbox as World,
)
from mattermost_zoom.simulators.sandbox import (
    free_port,
    link_in,
    wait_until,
)
from mattermost_zoom.simulators.sandbox import (
    start_sandbox as build_world,
)

__all__ = ["World", "build_world", "free_port", "link_in", "wait_until"]
