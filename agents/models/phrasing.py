"""The rule-based model's voice: a WhatsApp reply phrased from the tool results of the turn.

Every fact in a reply comes from a function response the model received (times, references,
prices, statuses); the templates only arrange them. Two results lead to another tool call
instead of a reply: the catalogue, when the customer asked to order (→ ``place_order`` with
the products the message mentions), and an empty knowledge search when the agent can search
the web (→ ``web_search``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from agents.models.intents import Intent, product_lines

__all__ = ["follow_up", "phrase", "small_talk"]

BUSINESS = "Nakato Beauty Studio & Shop"
_ORDER_WORDS = re.compile(r"\b(order|buy|purchase|send me|get me|i'?d like|i want|i need)\b", re.I)


def _ugx(amount: Any) -> str:
    return f"UGX {int(amount):,}"


def _day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%A %-d %B")
    except ValueError:
        return iso


def small_talk(kind: str, name: str) -> str:
    """Replies that need no tool: greeting, thanks, and the fallback."""
    hello = f"Hello {name}!" if name else "Hello!"
    if kind == "greeting":
        return (
            f"{hello} 👋 Welcome to {BUSINESS}. I can book or cancel appointments, check your orders and "
            "answer questions about our services, prices and opening hours. How can I help?"
        )
    if kind == "thanks":
        return "You're welcome! 😊 Message us any time."
    return (
        'Sorry, I didn\'t quite get that. I can help with appointments ("book a haircut tomorrow at 3pm"), '
        'orders ("where is ORD-1002?") and questions about our services and opening hours.'
    )


def follow_up(user_text: str, name: str, response: dict[str, Any], tools: set[str], done: set[str]) -> Intent | None:
    """Another tool call the result ``response`` of tool ``name`` calls for, if any."""
    if name == "list_products_catalogue" and "place_order" in tools and "place_order" not in done:
        if _ORDER_WORDS.search(user_text):
            lines = product_lines(user_text, list(response.get("products", [])))
            if lines:
                return Intent("place_order", {"items": lines})
    if name == "search_knowledge" and response.get("status") == "no_results" and "web_search" in tools:
        if "web_search" not in done:
            return Intent("web_search", {"query": user_text})
    return None


def _info(user_text: str, r: dict[str, Any], today: date | None) -> str:
    text = user_text.lower()
    hours = "\n".join(r.get("opening_hours", []))
    if re.search(r"\b(open|clos|hours?|time)", text):
        if today is not None:  # "today" / "tomorrow" name a weekday
            text = re.sub(r"\btoday\b|\btonight\b", today.strftime("%A").lower(), text)
            text = re.sub(r"\btomorrow\b", (today + timedelta(days=1)).strftime("%A").lower(), text)
        asked = [line for line in r.get("opening_hours", []) if line.split(":")[0].lower() in text]
        if asked:
            return "Opening hours: " + "; ".join(asked) + "."
        return f"Our opening hours are:\n{hours}"
    if re.search(r"\b(pay|mobile money|momo|cash)", text):
        return f"We accept {r.get('payment', 'cash and Mobile Money')}."
    if re.search(r"\bdeliver", text):
        return f"Delivery: {r.get('delivery', '')}."
    if re.search(r"\b(phone|call|contact|email)", text):
        return f"Call or WhatsApp us on {r.get('phone')} or email {r.get('email')}."
    return f"📍 {r.get('name')}: {r.get('address')} ({r.get('landmark')}).\nOpening hours:\n{hours}"


def _products(user_text: str, r: dict[str, Any]) -> str:
    products = list(r.get("products", []))
    mentioned = {line["product"] for line in product_lines(user_text, products)}
    shown = [p for p in products if p["name"] in mentioned] or products
    lines = [f"• {p['name']}: {_ugx(p['price_ugx'])}{'' if p['in_stock'] else ' (out of stock)'}" for p in shown]
    return "Here are our prices:\n" + "\n".join(lines) + "\nTell me what you'd like and how many to order."


def _services(user_text: str, r: dict[str, Any]) -> str:
    services = list(r.get("services", []))
    words = {w.rstrip("s") for w in re.findall(r"[a-z]+", user_text.lower()) if len(w) > 2}
    named = [s for s in services if words & {w.rstrip("s") for w in re.findall(r"[a-z]+", str(s["name"]).lower())}]
    shown = named if named and len(named) < len(services) else services
    lines = [f"• {s['name']}: {_ugx(s['price_ugx'])} ({s['duration_minutes']} min)" for s in shown]
    return ("Our services:\n" if shown is services else "") + "\n".join(lines) + "\nWould you like to book one?"


def phrase(user_text: str, name: str, r: dict[str, Any], today: date | None = None) -> str:
    """The reply for the last tool result ``r`` of tool ``name`` (``today`` resolves "today" in hours)."""
    status = r.get("status")
    if name == "get_business_info":
        return _info(user_text, r, today)
    if name == "list_services_and_prices":
        return _services(user_text, r)
    if name == "list_products_catalogue":
        return _products(user_text, r)
    if name == "check_availability":
        if status == "success":
            slots = ", ".join(r["slots"][:8])
            return f"Free times for {r['service']} on {_day(r['date'])}: {slots}. Which time suits you?"
        if status == "closed":
            return f"Sorry, we are closed on {_day(r['date'])}. We open Monday to Saturday."
        if status == "full":
            return f"Sorry, {r['service']} is fully booked on {_day(r['date'])}. Would another day work?"
    if name == "book_appointment":
        if status == "success":
            return (
                f"Booked ✅ {r['service']} on {_day(r['date'])} at {r['time']}. Your reference is {r['reference']} "
                f"and the price is {_ugx(r['price_ugx'])}. See you then!"
            )
        if status == "unavailable":
            others = ", ".join(r.get("alternatives", [])) or "none that day"
            return f"Sorry, {r['time']} on {_day(r['date'])} is taken for {r['service']}. Free times: {others}."
    if name == "cancel_appointment":
        if status == "success":
            c = r["cancelled"]
            return (
                f"Your {c['service']} appointment on {_day(c['date'])} at {c['time']} ({c['reference']}) is cancelled."
            )
        if status == "ambiguous":
            listing = "; ".join(
                f"{a['reference']}: {a['service']} {_day(a['date'])} {a['time']}" for a in r["appointments"]
            )
            return f"You have several appointments: {listing}. Which one should I cancel?"
        if status == "not_found":
            return "I couldn't find a matching upcoming appointment in your name."
    if name == "list_my_appointments":
        items = r.get("appointments", [])
        if not items:
            return "You have no upcoming appointments. Would you like to book one?"
        listing = "\n".join(f"• {a['service']} on {_day(a['date'])} at {a['time']} ({a['reference']})" for a in items)
        return f"Your upcoming appointments:\n{listing}"
    if name == "get_order_status":
        if status == "success":
            items = ", ".join(f"{i['quantity']} × {i['product']}" for i in r.get("items", []))
            return f"Order {r['order_number']} is {r['status_text']}. Total {_ugx(r['total_ugx'])} ({items})."
        return "I couldn't find an order with that number for your phone number. Please check the number."
    if name == "list_my_orders":
        orders = r.get("orders", [])
        if not orders:
            return "You have no orders with us yet."
        listing = "\n".join(
            f"• {o['order_number']} ({o['placed']}): {o['status_text']}, {_ugx(o['total_ugx'])}" for o in orders
        )
        return f"Your orders:\n{listing}"
    if name == "place_order":
        if status == "success":
            items = ", ".join(f"{i['quantity']} × {i['product']}" for i in r.get("items", []))
            return (
                f"Thank you! Order {r['order_number']} is received: {items}. Total {_ugx(r['total_ugx'])}. "
                "We'll send the Mobile Money payment details shortly."
            )
    if name == "search_knowledge":
        if status == "success":
            best = r["results"][0]
            return f"{best['text']}"
        return "I don't have that information, sorry. Please call us on +256 700 123 456."
    if name == "web_search":
        if status == "success":
            lines = [f"• {h['title']}: {h['snippet']} ({h['url']})" for h in r.get("results", [])[:3]]
            return "Here's what I found online:\n" + "\n".join(lines)
        if status == "unavailable":
            return "Sorry, I can't search the web right now. Please ask me about our salon, services or orders."
        return "I couldn't find anything about that online."
    if status == "unknown_service":
        names = ", ".join(s["name"] for s in r.get("services", []))
        return (
            f"{r.get('message', 'We do not offer that service.')} Our services are: {names}."
            if names
            else str(r.get("message", "We do not offer that service."))
        )
    message = r.get("message") or r.get("error")
    return str(message) if message else "Sorry, something went wrong. Please try again."
