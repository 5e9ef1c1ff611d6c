"""SQLAlchemy 2.0 typed models, one module per domain, sharing one metadata."""

from models.audiences import MemberRfm, MemberTag, MemberTagEvent, Product, Tag, TagEvaluation
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
from models.campaigns import Campaign, CampaignNarrowcast, CampaignRecipient
from models.coupons import Coupon, CouponRedemption, CouponTemplate
from models.engagement import (
    Checkin,
    CheckinMilestone,
    CheckinMilestoneAward,
    CheckinReminder,
    CheckinReminderPreference,
    CheckinSettings,
    Game,
    GameDayCount,
    GamePlay,
    GamePlayGrant,
    GamePrize,
    StreakFreezeEntry,
)
from models.ledger import MemberBalance, PointEntry, StampCard, StampCardTemplate, StampEntry
from models.line import LineFriendshipEvent, LineUser, RichMenuDeployment
from models.marketing import CouponTemplateVersion, Segment
from models.membership import Consent, ErasureRequest, Member, MemberImport
from models.messaging import OutboundMessage, WebhookEvent
from models.missions import InviteClaim, InviteCode, Mission, MissionProgress, PollAnswer
from models.purchases import Purchase, Refund, TierChange
from models.referrals import ReferralAttribution, ReferralCode, ReferralLead, ReferralTouch
from models.reminders import PointExpiryReminder
from models.settings import StampCardTemplateVersion, TaskSettingsVersion, TierSetting, TierSettingsVersion
from models.store import Staff, StaffAudit, Store

__all__ = [
    "AccountLinkNonce",
    "ApiKey",
    "BarcodeKey",
    "BarcodeUse",
    "Base",
    "BindCode",
    "BindCodeFailure",
    "BindingAudit",
    "Campaign",
    "CampaignNarrowcast",
    "CampaignRecipient",
    "Checkin",
    "CheckinMilestone",
    "CheckinMilestoneAward",
    "CheckinReminder",
    "CheckinReminderPreference",
    "CheckinSettings",
    "Consent",
    "Coupon",
    "CouponRedemption",
    "CouponTemplate",
    "CouponTemplateVersion",
    "ErasureRequest",
    "Game",
    "GameDayCount",
    "GamePlay",
    "GamePlayGrant",
    "GamePrize",
    "InviteClaim",
    "InviteCode",
    "LineFriendshipEvent",
    "LineUser",
    "LinkToken",
    "Member",
    "MemberBalance",
    "MemberImport",
    "MemberRfm",
    "MemberTag",
    "MemberTagEvent",
    "Mission",
    "MissionProgress",
    "OutboundMessage",
    "PhoneVerification",
    "PointEntry",
    "PointExpiryReminder",
    "PollAnswer",
    "Product",
    "Purchase",
    "ReferralAttribution",
    "ReferralCode",
    "ReferralLead",
    "ReferralTouch",
    "Refund",
    "RichMenuDeployment",
    "ScanLog",
    "Segment",
    "Staff",
    "StaffAudit",
    "StampCard",
    "StampCardTemplate",
    "StampCardTemplateVersion",
    "StampEntry",
    "Store",
    "StreakFreezeEntry",
    "Tag",
    "TagEvaluation",
    "TaskSettingsVersion",
    "TierChange",
    "TierSetting",
    "TierSettingsVersion",
    "WebhookEvent",
]
