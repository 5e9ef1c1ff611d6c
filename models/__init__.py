"""SQLAlchemy 2.0 typed models, one module per domain, sharing one metadata."""

from models.base import Base
from models.line import LineUser
from models.membership import Member
from models.messaging import OutboundMessage, WebhookEvent
from models.store import Staff, Store

__all__ = ["Base", "LineUser", "Member", "OutboundMessage", "Staff", "Store", "WebhookEvent"]
