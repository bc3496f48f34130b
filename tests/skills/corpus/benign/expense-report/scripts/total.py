"""Round amounts the way the report does: half up, two decimals."""

from decimal import ROUND_HALF_UP, Decimal


def total(amounts: list[str]) -> Decimal:
    return sum((Decimal(a) for a in amounts), Decimal(0)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


if __name__ == "__main__":
    import sys

    print(total(sys.argv[1:]))
