"""The demo company: Ridgeline Coffee's staff, teams and their views, channels, stage and
routing rules, service targets and macros."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import Channel
from helpdesk.models import AssignmentMode, Role, Stage, SurveyKind

SEED = 5690
PASSWORD = "demo-password"
DAYS = 60
COMPANY = "Ridgeline Coffee"
DOMAIN = "ridgeline.test"
MAILBOX = f"support@{DOMAIN}"
TEXT_LINE = "+14155550100"
SITE = DOMAIN


@dataclass(frozen=True, slots=True)
class StaffMember:
    role: Role
    email: str
    name: str
    stages: tuple[Stage, ...] = ()  # what an agent usually picks up
    topic: str = ""  # how colleagues describe what they know best

    @property
    def first(self) -> str:
        return self.name.split()[0]


# Shared macros: (name, text, actions), as an admin of the shop would write them.
MACROS: tuple[tuple[str, str, dict], ...] = (
    (
        "Shipping delay — apology",
        "Hi {{ customer.first_name }},\n\nI'm sorry your order is late: our courier is running "
        "a day or two behind. It is on its way, and I'll keep ticket #{{ ticket.number }} open "
        "until it arrives.\n\n{{ agent.first_name }}, Ridgeline Coffee",
        {"status": "pending", "stage": "use", "tags": ("shipping-delay",)},
    ),
    (
        "Refund issued",
        "Hi {{ customer.first_name }},\n\nI've refunded your payment; it shows on your statement "
        "within 3–5 working days.\n\n{{ agent.first_name }}, Ridgeline Coffee",
        {"status": "solved", "tags": ("refund",)},
    ),
    (
        "Ask for order number",
        "Hi {{ customer.first_name }},\n\nCould you send me your order number (it starts with "
        "RC-, in your confirmation mail)? Then I can look into it right away.\n\n"
        "{{ agent.first_name }}",
        {"status": "pending", "stage": "purchase"},
    ),
    (
        "Escalate — urgent",
        "",
        {"priority": "urgent", "tags": ("escalated",)},
    ),
)

# Stage -> (first response, resolution) in minutes, around the clock.
SLA_TARGETS = {
    Stage.PURCHASE: (60, 8 * 60),
    Stage.USE: (4 * 60, 2 * 24 * 60),
    Stage.INTERACTION: (8 * 60, 3 * 24 * 60),
    Stage.DISCOVERY: (2 * 60, 24 * 60),
}

# The question each stage asks when a ticket is solved: NPS once a customer owns and uses the
# product, CSAT while they are choosing and buying.
SURVEY_KINDS = {
    **dict.fromkeys(Stage, SurveyKind.CSAT),
    Stage.USE: SurveyKind.NPS,
    Stage.CULTIVATION: SurveyKind.NPS,
    Stage.ADVOCACY: SurveyKind.NPS,
}

STAFF = (
    StaffMember(
        Role.AGENT,
        f"alex@{DOMAIN}",
        "Alex Rivera",
        (Stage.DISCOVERY, Stage.ATTRACTION, Stage.INTERACTION, Stage.PURCHASE),
        "orders and quotes",
    ),
    StaffMember(Role.AGENT, f"priya@{DOMAIN}", "Priya Natarajan", (Stage.USE,), "the machines"),
    StaffMember(
        Role.AGENT,
        f"sam@{DOMAIN}",
        "Sam Okafor",
        (Stage.AWARENESS, Stage.CULTIVATION, Stage.ADVOCACY),
        "the Bean Club and community requests",
    ),
    StaffMember(Role.MANAGER, f"morgan@{DOMAIN}", "Morgan Lee"),
    StaffMember(Role.ADMIN, f"jordan@{DOMAIN}", "Jordan Kim"),
)

# (name, members, how it hands out new tickets, the journey stages it serves).
TEAMS: tuple[tuple[str, tuple[str, ...], AssignmentMode, tuple[Stage, ...]], ...] = (
    (
        "Sales",
        (f"alex@{DOMAIN}",),
        AssignmentMode.ROUND_ROBIN,
        (Stage.DISCOVERY, Stage.ATTRACTION, Stage.INTERACTION, Stage.PURCHASE),
    ),
    (
        "Product care",
        (f"priya@{DOMAIN}", f"alex@{DOMAIN}"),
        AssignmentMode.LEAST_OPEN,
        (Stage.USE,),
    ),
    (
        "Community",
        (f"sam@{DOMAIN}",),
        AssignmentMode.OFF,
        (Stage.AWARENESS, Stage.CULTIVATION, Stage.ADVOCACY),
    ),
)

# Saved views: (owner, name, queue filters, shared with this team or personal).
VIEWS: tuple[tuple[str, str, dict[str, str], str | None], ...] = (
    (
        f"alex@{DOMAIN}",
        "Sales: waiting longest",
        {"team": "{Sales}", "status": "new,open", "sort": "waiting"},
        "Sales",
    ),
    (
        f"priya@{DOMAIN}",
        "Product care: urgent and high",
        {"team": "{Product care}", "status": "new,open", "priority": "urgent,high"},
        "Product care",
    ),
    (f"alex@{DOMAIN}", "My refunds", {"assignee": "me", "tag": "refund"}, None),
)

# Routing tried before the teams' stage rules: (name, subject words, team, priority).
URGENT_ROUTING = (
    ("Broken machines first", "broken, leaking, not heating, clicking", "Product care", "high"),
)

# (name, stage, conditions), tried in this order. Campaign tags come before page rules (a
# newsletter reader on a blog post is being cultivated); keywords come after the routing rules.
RULES: tuple[tuple[str, Stage, dict[str, str]], ...] = (
    ("text-order", Stage.PURCHASE, {"channel": Channel.SMS, "first_word": "ORDER"}),
    ("text-track", Stage.USE, {"channel": Channel.SMS, "first_word": "TRACK"}),
    ("text-club", Stage.CULTIVATION, {"channel": Channel.SMS, "first_word": "CLUB"}),
    ("text-callback", Stage.INTERACTION, {"channel": Channel.SMS, "first_word": "CALL"}),
    ("newsletter", Stage.CULTIVATION, {"utm_source": "newsletter"}),
    ("chat-pricing", Stage.ATTRACTION, {"channel": Channel.CHAT, "url_pattern": "/pricing*"}),
    ("chat-compare", Stage.DISCOVERY, {"channel": Channel.CHAT, "url_pattern": "/compare*"}),
    ("chat-blog", Stage.AWARENESS, {"channel": Channel.CHAT, "url_pattern": "/blog/*"}),
    ("chat-docs", Stage.USE, {"channel": Channel.CHAT, "url_pattern": "/docs/*"}),
    ("chat-contact", Stage.INTERACTION, {"channel": Channel.CHAT, "url_pattern": "/contact*"}),
    ("chat-checkout", Stage.PURCHASE, {"channel": Channel.CHAT, "url_pattern": "/checkout*"}),
    ("sales-alias", Stage.PURCHASE, {"channel": Channel.EMAIL, "recipient": f"sales@{DOMAIN}"}),
    (
        "billing-invoice",
        Stage.PURCHASE,
        {"channel": Channel.EMAIL, "recipient": f"billing@{DOMAIN}", "keyword": "invoice"},
    ),
    (
        "events-alias",
        Stage.INTERACTION,
        {"channel": Channel.EMAIL, "recipient": f"events@{DOMAIN}"},
    ),
    ("review", Stage.ADVOCACY, {"keyword": "review"}),
    ("referral", Stage.ADVOCACY, {"keyword": "referral"}),
    ("bean-club", Stage.CULTIVATION, {"keyword": "Bean Club"}),
    ("podcast", Stage.AWARENESS, {"keyword": "podcast"}),
    ("social", Stage.AWARENESS, {"utm_medium": "social"}),
    ("paid-ads", Stage.ATTRACTION, {"utm_medium": "cpc"}),
)
