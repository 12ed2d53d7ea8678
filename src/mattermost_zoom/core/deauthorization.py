"""A Zoom user removed the app: what they are told, and what Zoom is told. Pure."""

from __future__ import annotations

from mattermost_zoom.core.webhooks import AppDeauthorized


def must_report_compliance(event: AppDeauthorized) -> bool:
    """Zoom's Data Compliance API is called when the user did not let the app keep
    their data (``user_data_retention`` "false")."""
    return not event.user_data_retention


def data_removed_message(*, subscriptions: int) -> str:
    """The direct message a user gets from the bot once their Zoom data is gone."""
    removed = "your Zoom connection and your Zoom settings"
    if subscriptions == 1:
        removed += ", and the 1 meeting subscription you set up"
    elif subscriptions > 1:
        removed += f", and the {subscriptions} meeting subscriptions you set up"
    return (
        "#### Zoom was disconnected\n"
        "Zoom let us know that the Mattermost app was removed from your Zoom account, "
        f"so everything held here for that account was deleted: {removed}.\n\n"
        "To start Zoom meetings from Mattermost again, run `/zoom connect`."
    )
