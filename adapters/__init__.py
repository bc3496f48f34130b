"""One package per chat platform: platform payloads become `Inbound`, `Outbound` becomes
API calls. Adapters translate only: no decisions, no SQL (memory/), no agent internals."""
