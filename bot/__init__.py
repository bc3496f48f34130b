"""The assistant: settings, wiring, the agent, chat sessions, tools, background work, CLI.
Never imports a chat platform's SDK (adapters/ does) nor writes SQL (memory/ does)."""
