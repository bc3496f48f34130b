"""Messages in and out: the channel seam adapters implement, who may talk, the session
manager, the outbox, exactly-once deliveries, the inbox of webhook events stored before
their 200, and attached files. No platform SDK here."""
