"""The model endpoint: chat completions and embeddings from any OpenAI-compatible API
through the `openai` client. Knows nothing of conversations, tools or people."""
