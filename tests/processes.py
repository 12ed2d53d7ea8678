"""The service as a real operating-system process, under the name the tests use."""

from mattermost_zoom.simulators.process import ServiceProcess

__all__ = ["ServiceProcess"]
