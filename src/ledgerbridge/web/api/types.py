"""Field types shared by request and response schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

Money = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]
Rate = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]
UnitAmount = Annotated[Decimal, Field(max_digits=16, decimal_places=4)]
Quantity = Annotated[Decimal, Field(max_digits=16, decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
AccountCode = Annotated[str, StringConstraints(min_length=1, max_length=10)]
TaxType = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
