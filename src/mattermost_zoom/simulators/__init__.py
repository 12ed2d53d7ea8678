"""Simulated Mattermost and Zoom servers for tests, demos and benchmarks."""

from mattermost_zoom.simulators.mattermost import MattermostSimulator
from mattermost_zoom.simulators.recording import RecordedRequest
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.simulators.zoom import ZoomSimulator

__all__ = ["MattermostSimulator", "RecordedRequest", "ServerThread", "ZoomSimulator"]
