"""Messages in and out: the channel seam adapters implement, who may talk, the session
manager, the outbox, exactly-once deliveries and attached files. No platform SDK here."""
