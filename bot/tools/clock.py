"""Date and time tools."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.tools import ToolContext, tool


class CurrentTimeArgs(BaseModel):
    timezone: str | None = Field(
        None, description="IANA zone, e.g. Europe/Paris; default: the person's."
    )


@tool(read_only=True)
async def current_time(ctx: ToolContext, args: CurrentTimeArgs) -> str:
    """Get the current date, time and weekday, in the user's time zone or another one."""
    zone = ctx.timezone
    if args.timezone:
        try:
            zone = ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ToolError(f"unknown time zone {args.timezone!r}; use an IANA name") from None
    now = ctx.now().astimezone(zone)
    return now.strftime(f"%A %d %B %Y, %H:%M:%S ({zone.key}, UTC%z)")
