"""Notifications: the in-app inbox, and an outbox every message passes through.

Workflows call `services.notify(...)` inside their transaction; after commit the `deliver_outbox`
task (queue "notifications") delivers over the enabled channels (`adapters`), with retries and
backoff; the periodic job `notifications.deliver_due` (every 30 s) is the safety net. The
`zhiwang worker` command (in this app) is the deployment's one background process.
"""
