"""SQLAlchemy 2.0 typed models, one module per domain, sharing one metadata."""

from models.base import Base
from models.binding import AccountLinkNonce, ApiKey, BindCode, BindingAudit, LinkToken, PhoneVerification
from models.ledger import PointEntry
from models.line import LineUser
from models.membership import Consent, ErasureRequest, Member
from models.messaging import OutboundMessage, WebhookEvent
from models.store import Staff, Store

__all__ = [
    "AccountLinkNonce",
    "ApiKey",
    "Base",
    "BindCode",
    "BindingAudit",
    "Consent",
    "ErasureRequest",
    "LineUser",
    "LinkToken",
    "Member",
    "OutboundMessage",
    "PhoneVerification",
    "PointEntry",
    "Staff",
    "Store",
    "WebhookEvent",
]
