"""Start Zoom meetings from Mattermost: a standalone service."""
