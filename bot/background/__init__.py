"""Work that outlives a turn: reminders and scheduled jobs, long-horizon tasks (steps,
context, progress). People reach it through tools and commands, never by importing it."""
