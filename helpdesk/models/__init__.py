"""All models, importable from one place so Alembic sees the whole metadata."""

from helpdesk.models.audit import AuditEvent
from helpdesk.models.base import (
    DeliveryState,
    Direction,
    IdentityKind,
    Priority,
    Role,
    Stage,
    StageSource,
    TicketStatus,
    TokenScope,
    utcnow,
)
from helpdesk.models.channels import Endpoint, InboxItem, StageRule, StageSla
from helpdesk.models.chat import ChatConversation, ChatEvent
from helpdesk.models.logins import LoginThrottle, RecoveryCode, SecurityPolicy
from helpdesk.models.macros import Macro
from helpdesk.models.mail import InboundEmail, IntakeOutcome, Mailbox, Security
from helpdesk.models.outreach import Campaign
from helpdesk.models.people import ApiToken, Customer, CustomerIdentity, User
from helpdesk.models.reports import JourneyDelta, JourneyRollup, StageDelta, StageRollup
from helpdesk.models.routing import RoutingRule
from helpdesk.models.stage_models import StageModel, StagePrediction
from helpdesk.models.suppressions import Suppression
from helpdesk.models.surveys import FollowUpMode, StageSurvey, Survey, SurveyKind, SurveyPolicy
from helpdesk.models.teams import AssignmentMode, Team, TeamMember
from helpdesk.models.tickets import (
    Attachment,
    Counter,
    DeliveryAttempt,
    Message,
    Tag,
    Ticket,
    TicketEvent,
    ticket_tags,
)
from helpdesk.models.views import SavedView
from helpdesk.models.webhooks import (
    EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
)

__all__ = [
    "EVENT_TYPES",
    "ApiToken",
    "AssignmentMode",
    "Attachment",
    "AuditEvent",
    "Campaign",
    "ChatConversation",
    "ChatEvent",
    "Counter",
    "Customer",
    "CustomerIdentity",
    "DeliveryAttempt",
    "DeliveryState",
    "Direction",
    "Endpoint",
    "FollowUpMode",
    "IdentityKind",
    "InboundEmail",
    "InboxItem",
    "IntakeOutcome",
    "JourneyDelta",
    "JourneyRollup",
    "LoginThrottle",
    "Macro",
    "Mailbox",
    "Message",
    "Priority",
    "RecoveryCode",
    "Role",
    "RoutingRule",
    "SavedView",
    "Security",
    "SecurityPolicy",
    "Stage",
    "StageDelta",
    "StageModel",
    "StagePrediction",
    "StageRollup",
    "StageRule",
    "StageSla",
    "StageSource",
    "StageSurvey",
    "Suppression",
    "Survey",
    "SurveyKind",
    "SurveyPolicy",
    "Tag",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketEvent",
    "TicketStatus",
    "TokenScope",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookState",
    "ticket_tags",
    "utcnow",
]
