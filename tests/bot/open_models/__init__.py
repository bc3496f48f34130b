"""The whole agent path against fakes with the habits of real servers (personalities)."""
