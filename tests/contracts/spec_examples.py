"""The spec's two message examples, copied verbatim from ``spec/queue-architecture.md``.

The examples write each enum as ``"a|b|c"``; :func:`concrete_request` and
:func:`concrete_reply` pick one value and leave every other key and value untouched.
"""

from __future__ import annotations

import copy
import json
from typing import Any

SPEC_REQUEST_JSON = """\
{
  "messageId": "uuid-v4",
  "timestamp": 1234567890,
  "taskType": "conversation|appointment|order|search",
  "contact": {
    "remoteJid": "256703722777@s.whatsapp.net",
    "phoneNumber": "+256703722777",
    "name": "John Doe",
    "countryCode": "256"
  },
  "message": {
    "text": "User's message text",
    "messageId": "whatsapp-message-id",
    "timestamp": 1234567890
  },
  "context": {
    "conversationHistory": [
      { "role": "user", "content": "Previous message 1" },
      { "role": "assistant", "content": "Previous response 1" }
    ],
    "userNotes": "VIP customer - priority support",
    "sessionData": {}
  },
  "metadata": {
    "priority": "normal|high|urgent",
    "retryCount": 0,
    "maxRetries": 3
  }
}
"""

SPEC_REPLY_JSON = """\
{
  "messageId": "uuid-v4",
  "originalMessageId": "uuid-v4-from-ag_queue",
  "timestamp": 1234567890,
  "status": "success|error|partial",
  "contact": {
    "remoteJid": "256703722777@s.whatsapp.net",
    "phoneNumber": "+256703722777",
    "name": "John Doe"
  },
  "response": {
    "text": "Agent's response message",
    "type": "text|image|document",
    "attachments": []
  },
  "agentMetadata": {
    "toolsUsed": ["database_query", "web_search"],
    "reasoningSteps": ["Step 1", "Step 2"],
    "processingTime": 2.5,
    "tokensUsed": 150
  },
  "error": {
    "code": "ERROR_CODE",
    "message": "Error description",
    "stack": "Stack trace (if available)"
  }
}
"""

TASK_TYPES = ("conversation", "appointment", "order", "search")
PRIORITIES = ("normal", "high", "urgent")
STATUSES = ("success", "error", "partial")
RESPONSE_TYPES = ("text", "image", "document")


def concrete_request(task_type: str = "conversation", priority: str = "normal") -> dict[str, Any]:
    """The spec's request example with one value chosen for each ``a|b|c`` placeholder."""
    obj = json.loads(SPEC_REQUEST_JSON)
    assert obj["taskType"] == "|".join(TASK_TYPES)
    assert obj["metadata"]["priority"] == "|".join(PRIORITIES)
    obj["taskType"] = task_type
    obj["metadata"]["priority"] = priority
    return obj


def concrete_reply(status: str = "success", response_type: str = "text") -> dict[str, Any]:
    """The spec's reply example with one value chosen for each ``a|b|c`` placeholder."""
    obj = json.loads(SPEC_REPLY_JSON)
    assert obj["status"] == "|".join(STATUSES)
    assert obj["response"]["type"] == "|".join(RESPONSE_TYPES)
    obj["status"] = status
    obj["response"]["type"] = response_type
    return obj


def body(obj: Any) -> bytes:
    """A JSON body as the Node.js side would publish it."""
    return json.dumps(obj).encode()


def with_value(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``obj`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return out
