"""A Zoom user removed the app: what they are told, and what Zoom is told. Pure."""

from __future__ import annotations

from mattermost_zoom.core.webhooks import AppDeauthorized


def must_report_compliance(event: AppDeauthorized) -> bool:
    """Zoom's Data Compliance API is called when the user did not let the app keep
    their data (``user_data_retention`` "false")."""
    return not event.user_data_retention


def data_removed_message(*, connected: bool, subscriptions: int) -> str:
    """The direct message a user gets from the bot once their Zoom data is gone."""
    removed = ["your Zoom connection", "your Zoom settings"] if connected else []
    if subscriptions == 1:
        removed.append("the meeting subscription you set up with it")
    elif subscriptions > 1:
        removed.append(f"the {subscriptions} meeting subscriptions you set up with it")
    listed = ", ".join(removed[:-1]) + " and " + removed[-1] if len(removed) > 1 else removed[0]
    return (
        "#### Zoom was disconnected\n"
        "Zoom let us know that the Mattermost app was removed from your Zoom account, "
        f"so everything held here for that account was deleted: {listed}.\n\n"
        "To start Zoom meetings from Mattermost again, run `/zoom connect`."
    )
