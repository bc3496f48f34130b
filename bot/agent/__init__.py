"""The agent: one turn of a conversation (prompt, model, tools, until an answer) and the
context it adds (recall, summaries). Knows no chat platform; stores only through memory/."""
