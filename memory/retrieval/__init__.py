"""Finding things again: full-text and optional vector search within one scope, date
hints, ranking. A search never sees outside its scope (one person, or one group chat)."""
