"""Receivers of anymail's tracking signal: a provider's webhook, verified by
anymail, becomes `actions.record_tracking_event`."""

from . import actions

# anymail's normalised event types → what Masthead records.
EVENT_TYPES = {
    "delivered": "delivered",
    "bounced": "bounced",
    "rejected": "bounced",
    "complained": "complained",
    "opened": "opened",
    "clicked": "clicked",
}


def on_tracking(sender, event, esp_name, **kwargs):
    kind = EVENT_TYPES.get(event.event_type)
    if kind is None:
        return
    reason = event.reject_reason
    if kind == "bounced" and (event.esp_event or {}).get("Type") == "SoftBounce":
        # A soft bounce (mailbox full) is not a reason to stop writing.
        reason = "soft"
    actions.record_tracking_event(
        kind,
        event.recipient,
        message_id=event.message_id,
        reject_reason=reason,
        detail=event.description or event.mta_response or "",
    )
