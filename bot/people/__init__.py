"""People as the assistant's owners manage them (issue 17): who may talk to it and how
they get in (pairing), roles, accounts linked into one person, token budgets, and the
audit trail of it all. The stores are in memory/ (`people.py`, `audit.py`, `usage.py`);
the rules are here."""
