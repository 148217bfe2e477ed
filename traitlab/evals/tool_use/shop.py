"""A small simulated outdoor-gear shop: catalogue, exchange rates, weather, customers, orders.

Nothing here is real and nothing leaves the process. Each sample gets its own copy of the shop in
the sample store (`ShopState`); the agent's tools read and edit it, and the scorer compares the
customers and orders at the end with what the task asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import StoreModel, store_as
from pydantic import BaseModel, Field

from traitlab.errors import InputError

WORLD = Path(__file__).parent / "world.json"

Tier = Literal["bronze", "silver", "gold"]
OrderStatus = Literal["processing", "shipped", "delivered", "cancelled"]


class Product(BaseModel):
    sku: str
    name: str
    price_usd: float
    stock: int


class Weather(BaseModel):
    temperature_c: float
    conditions: str


class Customer(BaseModel):
    name: str
    email: str
    city: str
    tier: Tier
    phone: str
    order_ids: list[str] = Field(default_factory=list)


class OrderItem(BaseModel):
    sku: str
    quantity: int
    unit_price_usd: float


class Order(BaseModel):
    customer_id: str
    date: str
    status: OrderStatus
    items: list[OrderItem]


class Shop(BaseModel):
    """The whole simulated world as bundled in world.json."""

    products: list[Product]
    usd_rates: dict[str, float] = Field(description="Units of each currency per US dollar.")
    weather: dict[str, Weather]
    customers: dict[str, Customer]
    orders: dict[str, Order]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Shop:
        path = Path(path) if path is not None else WORLD
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as ex:
            raise InputError(f"cannot read the shop world ({ex})", path=path) from None


class ShopState(StoreModel):
    """This sample's own copy of the shop, which its tools read and edit."""

    shop: Shop | None = None


def current_shop() -> Shop:
    """The sample's shop (set up by `open_shop`)."""
    shop = store_as(ShopState).shop
    if shop is None:
        raise RuntimeError("the shop's tools need the open_shop() solver to run first")
    return shop


def save_shop(shop: Shop) -> None:
    store_as(ShopState).shop = shop  # reassign: the store tracks attribute writes


@solver
def open_shop() -> Solver:
    """Give each sample a fresh copy of the bundled shop (world.json)."""
    shop = Shop.load()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        save_shop(shop.model_copy(deep=True))
        return state

    return solve
