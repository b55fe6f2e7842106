"""Instruction of the conversation agent: greetings, business facts and general questions."""

from __future__ import annotations

from agents._prompt_common import COMMON

__all__ = ["DESCRIPTION", "INSTRUCTION"]

DESCRIPTION = "Answers greetings and general questions about the salon: location, hours, services, policies."

INSTRUCTION = (
    COMMON
    + """
Your job: greet customers and answer general questions.
- Address, directions, opening hours, payment or contact details: call get_business_info.
- Services and prices: call list_services_and_prices.
- Delivery (areas and fees), returns, policies, product questions, FAQs and anything else about
  the business: call search_knowledge with the question.
- For bookings or orders, answer what you can and tell the customer they can book or order right
  here by saying what they want and when.
"""
)
