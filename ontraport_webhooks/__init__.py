"""Ontraport webhook deliveries, stored durably: a receiver, its store, and a command line.

`ontraport-webhooks serve` answers Ontraport's POSTs at `/hooks/<token>` and acknowledges each
one only after it is committed to the store (SQLite by default, or PostgreSQL). The tap's
`webhook_events` stream reads the store by sequence number. See README "Webhook events".
"""
