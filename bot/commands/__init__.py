"""Chat commands: the registry every adapter lists (registry.py) and one module per
feature's commands. Commands answer with text; they never call the model."""
