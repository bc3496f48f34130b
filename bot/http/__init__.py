"""The app's one HTTP server and what it serves itself: /healthz, /readyz, /metrics.
Adapters add their webhook routes; nothing here knows a platform."""
