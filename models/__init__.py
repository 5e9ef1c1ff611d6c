"""SQLAlchemy 2.0 typed models, one module per domain, sharing one metadata."""

from models.barcode import BarcodeKey, BarcodeUse, ScanLog
from models.base import Base
from models.binding import (
    AccountLinkNonce,
    ApiKey,
    BindCode,
    BindCodeFailure,
    BindingAudit,
    LinkToken,
    PhoneVerification,
)
from models.ledger import PointEntry
from models.line import LineUser, RichMenuDeployment
from models.membership import Consent, ErasureRequest, Member, MemberImport
from models.messaging import OutboundMessage, WebhookEvent
from models.store import Staff, Store

__all__ = [
    "AccountLinkNonce",
    "ApiKey",
    "BarcodeKey",
    "BarcodeUse",
    "Base",
    "BindCode",
    "BindCodeFailure",
    "BindingAudit",
    "Consent",
    "ErasureRequest",
    "LineUser",
    "LinkToken",
    "Member",
    "MemberImport",
    "OutboundMessage",
    "PhoneVerification",
    "PointEntry",
    "RichMenuDeployment",
    "ScanLog",
    "Staff",
    "Store",
    "WebhookEvent",
]
