"""The shop's tools, as an agent sees them. Every call is recorded in the sample's `ToolLog`.

Arguments with a fixed set of values are typed as `Literal`, so Inspect validates them against
the tool's schema: a wrong value is a malformed call (a parsing error), like an unknown tool or
a missing argument. A well-formed call that asks for something absent (an unknown customer id)
raises `ToolError`, which the agent reads and can recover from.
"""

from __future__ import annotations

import ast
import json
import operator
from typing import Any, Literal, get_args

from inspect_ai.tool import Tool, ToolError, tool

from traitlab.evals.tool_use.shop import OrderStatus, Tier, current_shop, save_shop
from traitlab.solvers import recorded

CustomerField = Literal["email", "city", "tier", "phone"]
TIERS = get_args(Tier)

_OPERATORS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _words(text: str) -> set[str]:
    """Lower-case words of three letters or more, without a plural s."""
    return {w.lower().removesuffix("s") for w in text.replace("-", " ").split() if len(w) >= 3}


@tool
def search_products() -> Tool:
    @recorded("search_products")
    async def execute(query: str) -> str:
        """Search the catalogue by product name; returns matching products with price and stock.

        Args:
            query: Words from the product name, e.g. "headlamp" or "water filter".
        """
        wanted = _words(query)
        scored = [(len(wanted & _words(p.name)), p) for p in current_shop().products]
        hits = [p.model_dump() for n, p in sorted(scored, key=lambda x: -x[0]) if n]
        return _json(hits)

    return execute


@tool
def get_exchange_rate() -> Tool:
    @recorded("get_exchange_rate")
    async def execute(base: str, quote: str) -> str:
        """How many units of the quote currency one unit of the base currency buys.

        Args:
            base: ISO currency code to convert from, e.g. "USD".
            quote: ISO currency code to convert to, e.g. "EUR".
        """
        rates = current_shop().usd_rates
        for code in (base, quote):
            if code.upper() not in rates:
                raise ToolError(f"unknown currency '{code}' (known: {', '.join(rates)})")
        rate = rates[quote.upper()] / rates[base.upper()]
        return _json({"base": base.upper(), "quote": quote.upper(), "rate": round(rate, 6)})

    return execute


@tool
def calculate() -> Tool:
    @recorded("calculate")
    async def execute(expression: str) -> str:
        """Evaluate an arithmetic expression with + - * / ** and parentheses.

        Args:
            expression: The expression, e.g. "3 * 89.5 * 0.92".
        """
        try:
            return _json(round(_evaluate(ast.parse(expression, mode="eval").body), 6))
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError) as ex:
            raise ToolError(f"cannot evaluate {expression!r}: {ex}") from None

    return execute


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("only numbers and + - * / ** are allowed")


@tool
def get_weather() -> Tool:
    @recorded("get_weather")
    async def execute(city: str) -> str:
        """The current weather in a city.

        Args:
            city: The city's name, e.g. "Lisbon".
        """
        weather = current_shop().weather
        match = next((name for name in weather if name.lower() == city.strip().lower()), None)
        if match is None:
            raise ToolError(f"no weather station for '{city}'")
        return _json({"city": match, **weather[match].model_dump()})

    return execute


@tool
def find_customer() -> Tool:
    @recorded("find_customer")
    async def execute(name: str) -> str:
        """Find customers whose name contains the given text; returns their ids and names.

        Args:
            name: All or part of the customer's name.
        """
        needle = name.strip().lower()
        customers = current_shop().customers
        hits = [
            {"customer_id": cid, "name": c.name}
            for cid, c in customers.items()
            if needle and needle in c.name.lower()
        ]
        return _json(hits)

    return execute


@tool
def get_customer() -> Tool:
    @recorded("get_customer")
    async def execute(customer_id: str) -> str:
        """A customer's record: contact details, tier and order ids.

        Args:
            customer_id: The customer's id, e.g. "C-1001".
        """
        customer = current_shop().customers.get(customer_id)
        if customer is None:
            raise ToolError(f"no customer with id '{customer_id}'")
        return _json({"customer_id": customer_id, **customer.model_dump()})

    return execute


@tool
def update_customer() -> Tool:
    @recorded("update_customer")
    async def execute(customer_id: str, field: CustomerField, value: str) -> str:
        """Change one field of a customer's record.

        Args:
            customer_id: The customer's id, e.g. "C-1001".
            field: The field to change.
            value: The new value (tier must be bronze, silver or gold).
        """
        shop = current_shop()
        customer = shop.customers.get(customer_id)
        if customer is None:
            raise ToolError(f"no customer with id '{customer_id}'")
        if field == "tier" and value not in TIERS:
            raise ToolError(f"tier must be one of {', '.join(TIERS)}")
        shop.customers[customer_id] = customer.model_copy(update={field: value})
        save_shop(shop)
        return f"customer {customer_id}: {field} set to {value!r}"

    return execute


@tool
def get_order() -> Tool:
    @recorded("get_order")
    async def execute(order_id: str) -> str:
        """An order: customer, date, status and items (quantity and unit price in USD).

        Args:
            order_id: The order's id, e.g. "O-5001".
        """
        order = current_shop().orders.get(order_id)
        if order is None:
            raise ToolError(f"no order with id '{order_id}'")
        return _json({"order_id": order_id, **order.model_dump()})

    return execute


@tool
def update_order_status() -> Tool:
    @recorded("update_order_status")
    async def execute(order_id: str, status: OrderStatus) -> str:
        """Set an order's status.

        Args:
            order_id: The order's id, e.g. "O-5001".
            status: The new status.
        """
        shop = current_shop()
        order = shop.orders.get(order_id)
        if order is None:
            raise ToolError(f"no order with id '{order_id}'")
        shop.orders[order_id] = order.model_copy(update={"status": status})
        save_shop(shop)
        return f"order {order_id}: status set to {status!r}"

    return execute


def shop_tools() -> list[Tool]:
    """Every tool of the shop; each task gets all of them and must pick the right ones."""
    return [
        search_products(),
        get_exchange_rate(),
        calculate(),
        get_weather(),
        find_customer(),
        get_customer(),
        update_customer(),
        get_order(),
        update_order_status(),
    ]
