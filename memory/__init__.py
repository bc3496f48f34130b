"""Everything stored, in SQL: one store per kind of data, each returning plain dataclasses,
over the plumbing in db/ and the search in retrieval/. Never imports bot/ or adapters/."""
