"""The confirmation gate (which tool calls need the person's yes, and asking for it), the
marking of untrusted content, and redaction of secrets. Tools only declare what they do;
the rules live here, never in each tool."""
