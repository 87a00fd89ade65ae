"""Demo data: a coffee roaster's helpdesk with two months of requests on every channel.

Everything goes through the ticket service, back-dated: customers write (``service.receive``)
and agents answer, note, assign, correct stages and solve (``service.reply`` and friends), in
time order across all tickets, so numbering, threading, reopening and follow-ups come out the
way the real rules make them. Stages come from the stage rules created here, which the
customers' messages genuinely match.

Loading is idempotent: staff, endpoints and rules are created when missing, and the
conversations only when none of their (seed-derived) message ids is stored yet.
"""

from __future__ import annotations

import heapq
import math
import random
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from channels.base import Channel, InboundAttachment, InboundMessage, Utm
from helpdesk.extensions import db
from helpdesk.models import (
    CustomerIdentity,
    DeliveryAttempt,
    DeliveryState,
    Direction,
    IdentityKind,
    Message,
    Priority,
    Role,
    Stage,
    StageRule,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.outbox import AttemptOutcome
from helpdesk.tickets import endpoints, service, sla, sms
from helpdesk.tickets.attachments import _store_attachments

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


@dataclass(frozen=True, slots=True)
class Template:
    """One kind of request: how it arrives, what the customer says, how the agent answers."""

    stage: Stage  # what the request is really about; an agent corrects intake to it
    channel: Channel
    opening: str  # on SMS and chat every line is a message of its own
    reply: str
    answer: str  # the customer's answer to the reply
    resolution: str
    subject: str = ""
    to: str = "support"  # email: the alias the customer wrote to
    page: str = ""  # chat: the page (and campaign tags) the chat was opened on
    chosen: bool = False  # chat: the customer picked the stage in the pre-chat form
    note: str = ""
    correction: str = ""  # why the agent corrects the stage intake gave
    priority: Priority | None = None
    weight: int = 2
    # Weeks after it was closed: what the customer writes back, and what the agent answers.
    comeback: tuple[str, str] | None = None


EMAIL, SMS, CHAT = Channel.EMAIL, Channel.SMS, Channel.CHAT

TEMPLATES = (
    Template(
        Stage.USE,
        EMAIL,
        subject="{machine} not heating up",
        opening="My {machine} stopped heating properly this week. The pressure gauge barely "
        "moves and the shots come out lukewarm. I descaled it last month following your guide. "
        "It's about eight months old, order {order}.",
        reply="Sorry to hear the {machine} is running cold. Could you tell me what the "
        "temperature display shows ten minutes after switching on, and whether the heating "
        "light stays on or blinks? That tells us if it's the thermostat or the element.",
        answer="The display says 71°C after ten minutes and the heating light blinks twice, "
        "then stays off.",
        resolution="Thanks, that points to the thermostat sensor, which the warranty covers. "
        "I've booked a free repair pick-up for {day}; the courier brings a box, so you only "
        "need to have the machine ready. The label is on its way by email.",
        note="Blink code 2 = thermostat sensor. Still under warranty, repair approved.",
        priority=Priority.HIGH,
        weight=4,
        comeback=(
            "Hi again, I'm writing back on this thread because the {machine} is running cold "
            "again since last week, same blinking light as before.",
            "Thanks for writing back on this thread, the history helps. As it's the same fault "
            "again, we'll swap the machine rather than repair it: a replacement ships tomorrow "
            "and the courier takes the old one back.",
        ),
    ),
    Template(
        Stage.USE,
        EMAIL,
        subject="Grinder making a clicking noise",
        opening="Since yesterday my {grinder} makes a loud clicking sound and the grounds come "
        "out uneven. I cleaned the burrs at the weekend. Did I put something back wrong?",
        reply="Thanks for the detail, that helps. Clicking after a clean is usually the upper "
        "burr carrier sitting one notch off. Could you take it out again, line up the white "
        "dot with the arrow on the housing and turn it clockwise until it clicks in?",
        answer="Found it, the dot was one notch off. Much quieter now, but the grind looks a "
        "bit coarse at setting 10.",
        resolution="Great that the noise is gone. After reseating the burrs the scale shifts a "
        "little, so go two steps finer than before: 8 should give you the grind you had.",
        note="Common after burr cleaning; worth a line in the cleaning guide.",
        weight=4,
        comeback=(
            "The clicking from this thread is back, and this time I haven't opened the "
            "grinder at all.",
            "Sorry it's back! Without a clean in between, that sounds like a worn burr carrier. "
            "A new one is on its way, free of charge, with a short video on fitting it.",
        ),
    ),
    Template(
        Stage.USE,
        EMAIL,
        subject="Order {order} arrived damaged",
        opening="The box for order {order} arrived today with a big dent, and the glass carafe "
        "inside is cracked. Everything else seems fine. What should I do with the broken one?",
        reply="I'm really sorry, that's not how it should arrive. No need to send the carafe "
        "back; please recycle it safely. Could you send a photo of the outer box so I can file "
        "the claim with the courier?",
        answer="Sure, photo attached. The dent is on the side with the label.",
        resolution="Thank you, the claim is filed. A new carafe is on its way by express and "
        "should arrive by {day}. Tracking is in the shipping email.",
        note="Courier damage claim filed; replacement sent from stock at no charge.",
        priority=Priority.HIGH,
        weight=3,
        comeback=(
            "Hi, about the carafe from this conversation: the handle of the replacement came "
            "loose after a few weeks.",
            "That shouldn't happen after a few weeks. A new carafe from a different batch ships "
            "today, and I've passed the loose handle on to our supplier.",
        ),
    ),
    Template(
        Stage.USE,
        EMAIL,
        subject="Missing item in my order",
        opening="I received order {order} today but the {bags} bags of {coffee} aren't in the "
        "box, although the packing slip lists them. Could you check?",
        reply="Thanks for letting us know, and sorry for the confusion. The {coffee} is roasted "
        "to order, so it was packed separately and ships a day later. You should get a second "
        "tracking email today.",
        answer="Ah, I see the second email now. It says delivery on {day}?",
        resolution="Yes, {day} is right. If it isn't with you by then, reply here and I'll send "
        "a replacement straight away.",
        weight=3,
        comeback=(
            "Hi again, the {coffee} from this order finally came, but it's ground and I "
            "ordered whole bean.",
            "Sorry about the mix-up! A bag of whole bean {coffee} is on its way by express, and "
            "you can keep the ground one.",
        ),
    ),
    Template(
        Stage.USE,
        EMAIL,
        to="billing",
        subject="Charged twice this month",
        opening="I was charged {amount} twice on my card for my subscription this month. Could "
        "you refund the duplicate?",
        reply="Sorry for the trouble! I can see two payments of {amount}; the second came from "
        "an automatic retry while your bank was slow to confirm the first. I've refunded the "
        "duplicate just now.",
        answer="Thanks. How long until I see it on my statement?",
        resolution="Refunds usually show within 3 to 5 business days, depending on your bank. "
        "Our payment provider also emails you a confirmation today.",
        note="Duplicate charge from the payment retry; refunded in the payment dashboard.",
        priority=Priority.URGENT,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="sales",
        subject="Office order: machine and beans for {team} people",
        opening="We're setting up a coffee corner for our office of about {team} people and are "
        "looking at the {machine} plus a monthly delivery of beans. Could you send a quote "
        "including delivery and installation?",
        reply="Thanks for thinking of us! For {team} people I'd suggest the {machine} with the "
        "{grinder} and 6 kg of beans a month. The attached quote includes delivery, "
        "installation and a short training for your team. Is there a water connection where "
        "the machine will stand?",
        answer="The quote looks good, and yes, there's a water connection. Can we pay by bank "
        "transfer?",
        resolution="Bank transfer is no problem. Your order is {order2}, and the payment details "
        "are in a separate email. Installation happens within a week of payment; our "
        "technician will call you to pick a time.",
        note="Office lead, roughly {amount} a month in beans. Offered free installation.",
        priority=Priority.HIGH,
        weight=3,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="sales",
        subject="Add a grinder to order {order}?",
        opening="I placed order {order} this morning for the {machine}. Could you still add the "
        "{grinder} so they ship together? Happy to pay the difference.",
        reply="Good timing: your order hasn't been packed yet. I've added the {grinder} and "
        "sent a payment link for the difference ({amount}) to this address. Both ship together "
        "as soon as it's paid.",
        answer="Paid just now, thanks!",
        resolution="Payment received and the order is updated. You'll get the tracking link "
        "once it leaves the warehouse, usually the next business day.",
        weight=3,
        comeback=(
            "Hi, following up on this old conversation: could you send me the receipt for the "
            "grinder as a PDF?",
            "Of course, the receipt is attached. You'll also find every receipt under Orders in "
            "your account.",
        ),
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="billing",
        subject="Invoice with company details for {order}",
        opening="Could you send me an invoice for order {order} with our company name and tax "
        "ID on it? Our accounts team needs it. Company: {company}, tax ID 12-3456789.",
        reply="Of course. I've reissued the invoice for {order} with {company} and your tax ID "
        "and attached it as a PDF. Does everything look right?",
        answer="Perfect, that's exactly what they needed.",
        resolution="Glad to help! Orders from this account will carry the company details "
        "automatically from now on.",
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="billing",
        subject="Wrong address on my invoice",
        opening="The invoice for order {order} still shows my old address in {city}. Can you "
        "correct it?",
        reply="Thanks for spotting that. I've updated the billing address and attached a "
        "corrected copy. Should I also change the address on your account for future orders?",
        answer="Yes please, use the new one for everything.",
        resolution="Done: your account now uses the new address for billing and delivery.",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        EMAIL,
        to="events",
        subject="Latte art class for two",
        opening="Hello! I'd like to book your latte art class for my partner and me as a "
        "birthday surprise. Do you have two spots in the next few weeks?",
        reply="What a lovely present! We have two spots left on {date} at 10 am, and more the "
        "weekend after. Shall I reserve {date} for you?",
        answer="{date} is perfect, please book it under my name.",
        resolution="You're booked: two places on {date}, 10 am at the roastery. A confirmation "
        "with directions is on its way. Happy early birthday to your partner!",
    ),
    Template(
        Stage.INTERACTION,
        EMAIL,
        to="events",
        subject="Cupping session for our team",
        opening="Our team of {team} would like to visit the roastery for a cupping session as a "
        "team outing. Is that something you offer, and what does it cost?",
        reply="We'd love to host you! Private cuppings take 90 minutes and cost $25 per person, "
        "including a bag of beans to take home. Which dates would work for your team?",
        answer="Either a Thursday afternoon in two weeks or the Tuesday after.",
        resolution="I've pencilled you in for the Thursday at 3 pm. A calendar invite with the "
        "address follows; just send the final headcount by the Monday before.",
        weight=1,
    ),
    Template(
        Stage.CULTIVATION,
        EMAIL,
        subject="Pausing my Bean Club delivery",
        opening="I'm travelling for most of next month. Can I pause my Bean Club delivery "
        "without losing my member price?",
        reply="Of course, and your member price stays the same. I've paused your deliveries "
        "for a month; the next bag ships on {date}. Would you like a reminder a few days "
        "before it restarts?",
        answer="Yes, a reminder would be great.",
        resolution="Done: you'll get a reminder three days before. Safe travels!",
    ),
    Template(
        Stage.CULTIVATION,
        EMAIL,
        subject="Trying a new roast in the Bean Club",
        opening="I've had the {coffee} in every Bean Club box so far. Could I try something "
        "lighter for the next few months?",
        reply="Happy to change it up! For something lighter I'd suggest the {coffee2}: bright, "
        "with lots of citrus. Shall I switch your next three boxes to it?",
        answer="Sounds good, let's try it.",
        resolution="Switched! Your next box ships on {date} with the {coffee2}. If you miss the "
        "old one, reply here and I'll swap it back.",
    ),
    Template(
        Stage.ADVOCACY,
        EMAIL,
        subject="Photos for my review",
        opening="I wrote a review of the {machine} on my blog and would love to use a couple of "
        "your product photos. Is that OK, and do you have a press kit?",
        reply="Thank you for writing about us! You're welcome to use our photos; the press kit "
        "with high-resolution images is linked below. Would you send us the link once it's "
        "live? We'd love to share it.",
        answer="Here it is, the post went live this morning.",
        resolution="Loved it, and we've shared it on our channels. As a thank-you I've added a "
        "bag of the {coffee} to your next order.",
        note="Blogger with a decent following; community team informed.",
        weight=1,
    ),
    Template(
        Stage.ADVOCACY,
        EMAIL,
        subject="Referral credit not showing",
        opening="My friend ordered with my referral code {code} last week, but the $10 credit "
        "isn't on my account yet.",
        reply="Thanks for spreading the word! The credit is added once your friend's order has "
        "shipped, which happened yesterday. I've added the $10 by hand so you don't have to "
        "wait.",
        answer="I see it now, thank you!",
        resolution="Great! Thanks again for recommending us.",
    ),
    Template(
        Stage.AWARENESS,
        EMAIL,
        subject="Heard about you on a podcast",
        opening="I heard your head roaster on the {podcast} podcast and got curious. I'm new to "
        "specialty coffee; where should I start if I only have a French press?",
        reply="Welcome! For a French press I'd start with the {coffee}: forgiving, chocolatey "
        "and great with a coarse grind. There's also a short beginner's guide on our blog. "
        "Would you like it ground for you?",
        answer="Yes please, ground for French press would be easiest.",
        resolution="Perfect: pick 'French press' as the grind option when you order and we'll "
        "take care of it. Enjoy your first cup!",
        weight=1,
    ),
    Template(
        Stage.DISCOVERY,
        EMAIL,
        subject="{machine} or {machine2}?",
        opening="I'm trying to decide between the {machine} and the {machine2}. I mostly make "
        "flat whites for two in the morning. Which one would you pick?",
        reply="For flat whites for two the {machine2} has the edge: its second boiler steams "
        "milk while the shot runs, so you're done in half the time. The {machine} is lovely "
        "too, but happier making one cup at a time.",
        answer="That makes sense. Does the {machine2} fit under standard kitchen cabinets?",
        resolution="It does: it's 38 cm tall, and you'll want about 10 cm above it to fill the "
        "tank. Happy to help whenever you're ready.",
        correction="comparing machines before buying, not a problem with one",
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        subject="Delivery to {city} before the weekend?",
        opening="If I order the {grinder} today, will it reach {city} before the weekend? It's a "
        "gift.",
        reply="If you order before 2 pm today with express shipping, it arrives by {day}. I can "
        "also add a gift note and leave prices out of the box.",
        answer="Just ordered, number {order}. Gift note: 'Happy birthday, Dad!'",
        resolution="The gift note is on {order}, no prices will be printed, and it ships today.",
        correction="placing an order, not using a product yet",
        weight=1,
    ),
    Template(
        Stage.PURCHASE,
        SMS,
        opening="ORDER 2 bags {coffee}, whole bean, same card as last time",
        reply="Thanks! 2 x {coffee}, whole bean: {amount} on your saved card. Reply YES to "
        "confirm.",
        answer="YES",
        resolution="Confirmed: order {order2} ships tomorrow, and we'll text you the tracking "
        "link.",
        weight=3,
    ),
    Template(
        Stage.PURCHASE,
        SMS,
        opening="Order {order} - can I still change the grind to espresso?",
        reply="It hasn't been packed yet, so yes. Espresso grind for both bags?",
        answer="Yes both please",
        resolution="Done, both bags of {order} will be ground for espresso.",
    ),
    Template(
        Stage.USE,
        SMS,
        opening="TRACK {order}",
        reply="{order} left our warehouse yesterday and is due {day}. Tracking: "
        "https://ship.example.com/t/{order}",
        answer="thx! can they leave it with a neighbour?",
        resolution="I've added a note for the courier to leave it with a neighbour if you're out.",
        weight=3,
    ),
    Template(
        Stage.USE,
        SMS,
        opening="Track {order} please, it said out for delivery yesterday but nothing came",
        reply="Sorry about that! The courier logged a failed attempt; it's redelivered today "
        "before 6 pm. Want me to switch it to a pickup point instead?",
        answer="No, today is fine, I'm home",
        resolution="Great, the courier has the note. Text us if it doesn't turn up.",
        priority=Priority.HIGH,
    ),
    Template(
        Stage.USE,
        SMS,
        opening="Hi, my {machine} shows a blinking red light\nThe one on the left, next to the "
        "power button",
        reply="That light means the water tank isn't seated. Could you lift the tank and push "
        "it down firmly until it clicks?",
        answer="That was it!! thank you",
        resolution="Happy brewing!",
        weight=3,
    ),
    Template(
        Stage.CULTIVATION,
        SMS,
        opening="CLUB skip next delivery please, I'm away until {date}",
        reply="Got it, your next Bean Club box is skipped and the one after ships on {date}. "
        "Anything else?",
        answer="nope that's all, thanks",
        resolution="Enjoy your trip!",
    ),
    Template(
        Stage.CULTIVATION,
        SMS,
        opening="CLUB can I switch to decaf for a while?",
        reply="Of course! Your box switches to the Huila Decaf from the next delivery. Ground "
        "or whole bean?",
        answer="whole bean",
        resolution="All set: Huila Decaf, whole bean, from {date}.",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        SMS,
        opening="CALL me about a wholesale account please, after 3pm works best",
        reply="Happy to call! Does tomorrow at 3:30 pm work?",
        answer="Yes perfect",
        resolution="Booked: I'll call you tomorrow at 3:30 pm.",
    ),
    Template(
        Stage.DISCOVERY,
        SMS,
        opening="Hi do you have the {grinder} in stock at the {city} shop?",
        reply="Yes, there are two in {city} right now. Want me to hold one for you until Saturday?",
        answer="yes please, under {first}",
        resolution="Done: it's on hold in {city} under {first} until Saturday.",
        correction="asking about stock before buying",
    ),
    Template(
        Stage.ADVOCACY,
        SMS,
        opening="Just left you a 5-star review, the {coffee} is amazing!",
        reply="Thank you so much, that made our day! Here's 15% off your next bag: THANKS15",
        answer="aw thanks!",
        resolution="Enjoy the next bag!",
        weight=1,
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/blog/dialing-in-espresso",
        opening="Loved the dial-in guide!\nWhich grinder did you use in the video?",
        reply="Thanks, glad it helped! That was the {grinder}.",
        answer="Is it good for a beginner?",
        resolution="Yes: it's stepless, so small adjustments are easy, and it's quiet. The link "
        "is in the video description.",
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/blog/cold-brew-at-home",
        opening="Hi! Trying your cold brew recipe this weekend\nCan I use the {coffee} or is it "
        "too dark?",
        reply="Great choice, the {coffee} makes a really smooth cold brew. Go for a coarse "
        "grind and 16 hours in the fridge.",
        answer="16 hours, got it. Thanks!",
        resolution="Enjoy, and tell us how it turns out!",
        weight=1,
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/?utm_source=instagram&utm_medium=social&utm_campaign=summer-reel",
        opening="Hey, saw your reel on Instagram\nDo you ship to {city}?",
        reply="Hi! Yes, we ship to {city}: standard delivery takes 2 to 3 days and is free over "
        "$40.",
        answer="Nice. Anything fruity for black coffee?",
        resolution="Try the {coffee2}: bright and fruity, lovely black.",
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/compare/espresso-machines",
        opening="Hi, what's the difference between the {machine} and the {machine2}?\nI'm a "
        "beginner",
        reply="The {machine} keeps it simple: one boiler, great for espresso and the odd "
        "cappuccino. The {machine2} has two, so you can steam and brew at once. For a beginner "
        "the {machine} is a great start.",
        answer="Can I upgrade later if I get hooked?",
        resolution="Yes: within a year our trade-in gives you 40% of the price back towards a "
        "bigger machine.",
        weight=3,
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/compare/grinders",
        opening="Is the {grinder2} worth the extra over the {grinder}?",
        reply="For espresso, yes: flat burrs give more clarity and stay consistent at fine "
        "settings. For filter the {grinder} is just as good. What do you mostly brew?",
        answer="Mostly espresso",
        resolution="Then I'd go for the {grinder2}. It comes with a free burr alignment check "
        "after six months.",
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/pricing",
        opening="What's included in the {plan} plan?\nIs shipping included?",
        reply="The {plan} plan brings freshly roasted beans every two weeks with free shipping "
        "and 10% off equipment. You can pause or cancel any time.",
        answer="Can I choose the roast?",
        resolution="Yes: pick a favourite, or let our roasters surprise you each time.",
        weight=3,
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/pricing/office",
        opening="Hi, we're {team} people in the office\nDoes the Office plan scale with headcount?",
        reply="It does: the Office plan is priced per kilo, and we suggest about 0.3 kg per "
        "person a month. For {team} people that's around {amount} a month, servicing included.",
        answer="Is there a minimum contract?",
        resolution="No minimum: it's monthly, cancel any time. Leave your email and I'll send a "
        "written offer.",
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/offers/starter-kit?utm_source=google&utm_medium=cpc&utm_campaign=starter-kit",
        opening="Is the starter kit deal still on?",
        reply="It is, until Sunday: the {grinder}, a scale and two bags of beans for $189.",
        answer="Can one of the bags be the {coffee}?",
        resolution="Yes, you can pick any two bags, the {coffee} included.",
    ),
    Template(
        Stage.INTERACTION,
        CHAT,
        page="/contact",
        opening="Hi! Can I visit the roastery?\nI'm in town next week",
        reply="We'd love that! Free tours run on Wednesdays and Saturdays at 11 am. Shall I put "
        "your name down?",
        answer="Saturday please, 2 people",
        resolution="You're on the list for Saturday at 11, two people. See you there!",
    ),
    Template(
        Stage.INTERACTION,
        CHAT,
        page="/contact",
        opening="I run a small café in {city}\nCould I talk to someone about wholesale?",
        reply="Absolutely! I can set up a call with our wholesale lead, Dana. When suits you?",
        answer="Tomorrow morning works, I'll leave my number in the form",
        resolution="Perfect, Dana will call you tomorrow morning.",
        weight=1,
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/checkout",
        opening="My card keeps getting declined at checkout\nTried twice now",
        reply="Sorry about that! Declines often come from the bank's security check. Did you "
        "get a code or an app notification from your bank?",
        answer="Oh, there was a notification I ignored. Trying again",
        resolution="Great, order {order} has gone through. Thanks for your patience!",
        priority=Priority.HIGH,
        weight=3,
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/checkout/shipping",
        opening="Why can't I pick express shipping?\nI'm in {city}",
        reply="Express isn't available for orders with a machine, because machines ship by "
        "freight. Beans and accessories can go express.",
        answer="Ok, can I split the order then?",
        resolution="Yes: order the beans separately with express; the machine follows by "
        "standard freight.",
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/docs/descaling",
        opening="I'm on step 4 of the descaling guide\nWhich button do I hold for the rinse?",
        reply="Hold the steam button and the single-cup button together for 3 seconds, until "
        "both blink.",
        answer="Got it, it's rinsing now",
        resolution="Perfect, it takes about 10 minutes and then you're good to go.",
        weight=3,
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/docs/grinder-calibration",
        opening="The calibration guide says turn until the burrs touch\nMine never touch, is it "
        "broken?",
        reply="Not broken! The {grinder} has a safety stop while the hopper is on. Did you take "
        "the hopper off first?",
        answer="That was it, they touch now",
        resolution="Great: set zero there, then go back to 8 for espresso.",
    ),
    Template(
        Stage.CULTIVATION,
        CHAT,
        page="/shop/limited-release?utm_source=newsletter&utm_medium=email&utm_campaign=new-lots",
        opening="Got your newsletter\nIs the {coffee} lot back?",
        reply="It is! Only 40 bags this time, and subscribers get first pick until Friday.",
        answer="Can I add it to my next delivery?",
        resolution="Added to your next delivery. Enjoy!",
    ),
    Template(
        Stage.CULTIVATION,
        CHAT,
        page="/blog/meet-our-farmers?utm_source=newsletter&utm_medium=email&utm_campaign=farms",
        opening="Loved the farmer story in the newsletter\nCan I buy beans from that farm?",
        reply="So glad you liked it! That's the {coffee2}, in the shop now; subscribers can add "
        "it to their next box too.",
        answer="Adding it now!",
        resolution="Wonderful, thank you for supporting them.",
        weight=1,
    ),
    Template(
        Stage.ADVOCACY,
        CHAT,
        page="/account/referrals",
        opening="My referral link doesn't give my friend the discount\nShe says the code field "
        "is empty",
        reply="Thanks for telling us! The link only fills the code in before your friend logs "
        "in. I've sent her the code {code} directly so she can paste it.",
        answer="Great, she used it",
        resolution="Wonderful, your $10 credit appears once her order ships.",
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/",
        opening="hi, anyone there?\ndo you sell decaf beans?",
        reply="Hi! Yes, our Huila Decaf is Swiss Water processed and very popular. Whole bean or "
        "ground?",
        answer="ground, for a moka pot",
        resolution="Then choose 'moka pot' as the grind option. Enjoy!",
        correction="asking what we sell before buying",
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/account",
        chosen=True,
        opening="My beans arrived but the bag was torn\nHalf of it spilled in the box",
        reply="Oh no, sorry! A replacement bag ships today, no need to return anything.",
        answer="Thank you!",
        resolution="You'll get the tracking link by email.",
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/",
        chosen=True,
        opening="I'd like to buy a gift card\nCan I choose the amount?",
        reply="Yes, anything from $20 to $200, and you can schedule the email for a date.",
        answer="Perfect, $50 for Sunday",
        resolution="Great: pick Sunday as the send date on the gift card page.",
        weight=1,
    ),
)

EXTRA_LINES = (
    "Sorry, forgot to add: my order number is {order}.",
    "One more thing: I'm home after 5 pm if it's easier to call.",
    "PS: I can send photos if that helps.",
)
THANKS = (
    "Perfect, thanks so much!",
    "That did it, thank you.",
    "Great, thanks for the quick help!",
    "Brilliant, thanks {agent}!",
)
# Share of asked customers who answer the satisfaction question, and how they score
# (weights of 1..5): purchase and use problems cost a little more goodwill.
SURVEY_ANSWER_RATE = 0.45
SURVEY_SCORES = {
    None: (4, 6, 12, 32, 46),
    Stage.PURCHASE: (9, 10, 17, 30, 34),
    Stage.USE: (8, 10, 16, 32, 34),
}
SURVEY_COMMENTS = {
    1: ("Took far too long.", "Nobody really answered my question."),
    2: ("Slow, and I had to repeat myself.", "Solved in the end, but it was a hassle."),
    3: ("Fine, nothing special.", "OK, a bit slow."),
    4: ("Helpful, thanks.", "Good answer, would have liked it sooner."),
    5: ("Fast and friendly!", "{agent} was great.", "Exactly what I needed."),
}
NOTES = (
    "Checked the order history: nothing unusual on this account.",
    "Regular customer, orders about once a month.",
    "Asked the warehouse team in chat; waiting for their answer.",
    "Second question like this this week; worth adding to the FAQ.",
)
# (what the customer writes after it was solved, what the agent answers)
REOPENS = (
    (
        "Sorry to come back to this, but it's happening again since this morning.",
        "Sorry it's back! A replacement part ships to you tomorrow by express, free of charge.",
    ),
    (
        "One more question on this: does the same apply to my order {order2}?",
        "Good question: yes, it does, and I've already updated {order2} the same way.",
    ),
    (
        "I still haven't received anything. Could you check again?",
        "I've checked with the warehouse: it went out today and the tracking will update "
        "tonight. Sorry for the wait.",
    ),
)
MACHINES = ("Alta Lever", "Alta Duo", "Brio Compact", "Vela E61")
GRINDERS = ("Conica 54", "Conica 64", "Fera Flat 83")
COFFEES = (
    "Morning Ridge blend",
    "Yirgacheffe Kochere",
    "Santos Natural",
    "Huila Decaf",
    "Gesha lot 7",
    "Finca Esperanza",
)
PLANS = ("Explorer", "Daily Ritual")
CITIES = ("Portland", "Austin", "Denver", "Chicago", "Boston", "Seattle", "Atlanta")
PODCASTS = ("Morning Grind", "Filter Friday", "Second Crack")
COMPANIES = ("Bluebird Design", "Harbor Analytics", "Greenleaf Dental", "Tidewater Legal")
FIRST_NAMES = (
    "Ava",
    "Noah",
    "Mia",
    "Liam",
    "Zoe",
    "Ethan",
    "Chloe",
    "Lucas",
    "Isla",
    "Mateo",
    "Hannah",
    "Omar",
    "Grace",
    "Diego",
    "Leah",
    "Kenji",
    "Sofia",
    "Aaron",
    "Nora",
    "Tomás",
    "Fatima",
    "Ben",
    "Elena",
    "Jamal",
    "Ruth",
    "Felix",
    "Maya",
    "Caleb",
    "Ingrid",
    "Wei",
    "Lena",
    "Marcus",
    "Aisha",
    "Jonas",
    "Clara",
    "Rafael",
    "Yuki",
    "Owen",
    "Amara",
    "Julia",
)
LAST_NAMES = (
    "Bennett",
    "Okoro",
    "Lindqvist",
    "Garcia",
    "Nguyen",
    "Patel",
    "Murphy",
    "Kowalski",
    "Haddad",
    "Fischer",
    "Costa",
    "Reyes",
    "Schmidt",
    "Tanaka",
    "O'Brien",
    "Moreau",
    "Novak",
    "Hughes",
    "Sato",
    "Adeyemi",
    "Larsen",
    "Rossi",
    "Khan",
    "Walsh",
    "Dubois",
    "Yilmaz",
    "Brooks",
    "Ivanova",
    "Mendes",
    "Carter",
    "Abbott",
    "Silva",
    "Jensen",
    "Park",
    "Quinn",
    "Baptiste",
    "Ferreira",
    "Holm",
    "Nakamura",
    "Ortiz",
)
MAIL_DOMAINS = ("example.com", "example.net", "example.org")
AREA_CODES = ("212", "312", "503", "512", "617", "720", "206", "404")
MAX_CUSTOMERS = len(AREA_CODES) * 100  # every customer gets a number of their own

CHANNEL_SHARE = {EMAIL: 0.44, SMS: 0.22, CHAT: 0.34}
MAX_TEXT_REQUESTS = 4  # per phone number, so every text conversation fits its own slot
TEXT_GAP = timedelta(days=10)  # a text conversation is closed before the next one starts
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
# How long a step takes after the one before, in seconds, per channel: (shortest, longest).
DELAYS: dict[str, dict[Channel, tuple[int, int]]] = {
    "line": {EMAIL: (300, _HOUR), SMS: (20, 3 * _MINUTE), CHAT: (8, _MINUTE)},
    "triage": {EMAIL: (5 * _MINUTE, 3 * _HOUR), SMS: (2 * _MINUTE, _HOUR), CHAT: (10, _MINUTE)},
    "respond": {EMAIL: (15 * _MINUTE, 8 * _HOUR), SMS: (5 * _MINUTE, 3 * _HOUR), CHAT: (20, 180)},
    "answer": {EMAIL: (30 * _MINUTE, 30 * _HOUR), SMS: (2 * _MINUTE, 6 * _HOUR), CHAT: (30, 240)},
    "thanks": {EMAIL: (10 * _MINUTE, 6 * _HOUR), SMS: (_MINUTE, 30 * _MINUTE), CHAT: (10, 60)},
    "wrap": {EMAIL: (5 * _MINUTE, 4 * _HOUR), SMS: (5 * _MINUTE, 2 * _HOUR), CHAT: (30, 300)},
    "stall": dict.fromkeys(Channel, (3 * _DAY, 6 * _DAY)),
    "reopen": dict.fromkeys(Channel, (4 * _HOUR, 5 * _DAY)),
    "close": dict.fromkeys(Channel, (_DAY, 9 * _DAY)),
    "close soon": dict.fromkeys(Channel, (_DAY, 3 * _DAY)),
    "follow up": dict.fromkeys(Channel, (3 * _DAY, 12 * _DAY)),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """A demo customer: who they are and where they can reach us from."""

    first: str
    last: str
    email: str | None
    phone: str | None
    visitor: str | None  # the chat visitor id of their browser
    account: str | None  # a shop account id, passed by the website when logged in

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(
            channel
            for channel, reach in ((EMAIL, self.email), (SMS, self.phone), (CHAT, self.visitor))
            if reach
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """One request to play out: who asks what, when it starts, and how it must end."""

    index: int
    template: Template
    profile: Profile
    start: datetime
    must_close: bool = False  # the next text from this number has to open a new ticket
    follow_up: bool = False  # the customer writes back weeks after it was closed


@dataclass
class Cast:
    """The staff playing the agents, and what the stories share while they run."""

    agents: list[tuple[StaffMember, User]]
    manager: User
    seed: int
    now: datetime
    linked: set[str] = field(default_factory=set)  # people whose identities are joined up
    outbound: list[Message] = field(default_factory=list)


def load(tickets: int = 1000, customers: int = 200, seed: int = SEED) -> bool:
    """Load the demo (flushes); False when its conversations are already there."""
    users = _ensure_staff()
    _ensure_channels()
    _ensure_targets()
    _ensure_macros()
    now = utcnow().replace(microsecond=0)
    rng = random.Random(seed)
    plans = _plan(rng, tickets, customers, now)
    if _already_loaded(plans, seed):
        return False
    agents = [(member, users[member.email]) for member in STAFF if member.role == Role.AGENT]
    manager = next(users[m.email] for m in STAFF if m.role == Role.MANAGER)
    cast = Cast(agents, manager, seed, now)
    _play([Story(p, cast) for p in plans], cutoff=now - timedelta(minutes=1))
    _settle_deliveries(cast.outbound, now)
    _add_working_details(rng, cast)
    db.session.flush()
    return True


# Tags agents put on tickets, by a word of the subject (the first that matches wins).
DEMO_TAGS = {
    "refund": "refund",
    "invoice": "billing",
    "order": "order",
    "subscription": "subscription",
    "broken": "defect",
    "noise": "defect",
    "wholesale": "b2b",
}
# A customer's own file (its name in their script) and the one agents send back.
WARRANTY_CARD = InboundAttachment(
    "гарантийный талон.pdf", "application/pdf", b"%PDF-1.4\n% Ridgeline warranty card\n"
)
BREW_GUIDE = InboundAttachment(
    "Ridgeline brew guide.pdf", "application/pdf", b"%PDF-1.4\n% Ridgeline brew guide\n"
)


def _add_working_details(rng: random.Random, cast: Cast) -> None:
    """What agents leave on tickets while they work them: tags, files both ways, and the
    colleagues a customer copies on their mail."""
    db.session.flush()
    tickets = list(db.session.scalars(select(Ticket).order_by(Ticket.id)))
    agent = cast.agents[0][1]
    for ticket in tickets:
        words = ticket.subject.lower()
        tag = next((tag for word, tag in DEMO_TAGS.items() if word in words), None)
        if tag and rng.random() < 0.6:
            service.add_tag(ticket, agent, tag, at=ticket.created_at + timedelta(minutes=30))
        if ticket.customer.name and rng.random() < 0.04:
            service.add_tag(ticket, agent, "vip", at=ticket.created_at + timedelta(minutes=31))
    email = [t for t in tickets if t.channel == EMAIL and len(t.messages) > 1]
    for ticket in email[-40::8]:
        _store_attachments(ticket.messages[0], [WARRANTY_CARD])
    for message in [m for m in cast.outbound if m.channel == EMAIL][-60::10]:
        _store_attachments(message, [BREW_GUIDE])
    for ticket in email[-30::10]:
        address = ticket.customer.identity(IdentityKind.EMAIL) or "someone@example.com"
        colleague = f"orders@{address.split('@')[1]}"
        ticket.cc = [colleague]
        for message in ticket.messages:
            if message.direction == Direction.OUTBOUND:
                message.cc = [colleague]


def _ensure_staff() -> dict[str, User]:
    users = {}
    for member in STAFF:
        user = db.session.scalar(select(User).where(User.email == member.email))
        if user is None:
            user = User(email=member.email, name=member.name, role=member.role)
            user.set_password(PASSWORD)
            db.session.add(user)
        users[member.email] = user
    db.session.flush()
    return users


def _ensure_channels() -> None:
    for channel, address, name, stage in (
        (EMAIL, MAILBOX, f"{COMPANY} support", Stage.USE),
        (SMS, TEXT_LINE, f"{COMPANY} text line", Stage.USE),
        # No default: a chat on a page no rule knows stays unknown until an agent looks.
        (CHAT, SITE, f"{SITE} website chat", None),
    ):
        endpoint = endpoints.endpoint_for(channel, address)
        endpoint.name = endpoint.name or name
        endpoint.default_stage = endpoint.default_stage or stage
    # Registered as an admin would, so the channels page lists the text line as connected.
    sms.add_number(number=TEXT_LINE)
    existing = set(db.session.scalars(select(StageRule.name)))
    for position, (name, stage, conditions) in enumerate(RULES, start=1):
        if name not in existing:
            db.session.add(StageRule(name=name, position=position * 10, stage=stage, **conditions))
    db.session.flush()


def _ensure_targets() -> None:
    """Service targets per stage, buyers first; kept if an admin has set any already."""
    if sla.targets():
        return
    for stage, (first_response, resolution) in SLA_TARGETS.items():
        sla.set_target(stage, first_response, resolution)


def _ensure_macros() -> None:
    """The shared macros, each made when no shared macro of its name exists yet."""
    existing = {macro.name for macro in service.shared_macros()}
    for name, text, actions in MACROS:
        if name not in existing:
            service.create_macro(None, service.MacroFields(name=name, text=text, **actions))


def _already_loaded(plans: list[Plan], seed: int) -> bool:
    openings = [_external_id(seed, p, 0) for p in plans]
    return (
        db.session.scalar(
            select(Message.id)
            .where(Message.direction == Direction.INBOUND, Message.external_id.in_(openings))
            .limit(1)
        )
        is not None
    )


# --- planning ---------------------------------------------------------------------------------


def _plan(rng: random.Random, tickets: int, customers: int, now: datetime) -> list[Plan]:
    """Who writes what and when; follow-ups to closed tickets count as tickets of their own."""
    profiles = _profiles(rng, customers)
    follow_ups = tickets // 50
    channels = _channel_slots(rng, tickets - follow_ups)
    owners = _owners(rng, profiles, channels)
    by_channel = {
        channel: [t for t in TEMPLATES if t.channel == channel] for channel in CHANNEL_SHARE
    }
    templates = [
        rng.choices(by_channel[c], weights=[t.weight for t in by_channel[c]])[0] for c in channels
    ]
    starts = {i: _start(rng, now) for i, c in enumerate(channels) if c != SMS}
    must_close = _text_slots(rng, owners, channels, now, starts)
    coming_back = _follow_up_picks(rng, templates, follow_ups)
    for index in sorted(coming_back):
        starts[index] = (now - timedelta(days=rng.uniform(35, DAYS - 1))).replace(microsecond=0)
    return [
        Plan(
            index,
            templates[index],
            owners[index],
            starts[index],
            must_close=index in must_close or index in coming_back,
            follow_up=index in coming_back,
        )
        for index in range(len(channels))
    ]


def _profiles(rng: random.Random, count: int) -> list[Profile]:
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], count)
    numbers = rng.sample(
        [f"+1{area}55501{n:02d}" for area in AREA_CODES for n in range(100)], count
    )
    profiles = []
    for index, (first, last) in enumerate(names):
        share = index / count
        # A fifth use email and text alike; then text-only, chat-only and email people.
        email = None if 0.2 <= share < 0.55 else _email_address(rng, first, last)
        phone = numbers[index] if share < 0.35 else None
        visitor = None if 0.2 <= share < 0.35 else f"v-{rng.getrandbits(64):016x}"
        account = f"acct-{rng.randint(10000, 99999)}" if email and rng.random() < 0.3 else None
        profiles.append(Profile(first, last, email, phone, visitor, account))
    return profiles


def _email_address(rng: random.Random, first: str, last: str) -> str:
    first, last = (_ascii(part) for part in (first, last))
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(2, 99)}"))
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _channel_slots(rng: random.Random, count: int) -> list[Channel]:
    sizes = {channel: round(count * share) for channel, share in CHANNEL_SHARE.items()}
    sizes[EMAIL] += count - sum(sizes.values())
    slots = [channel for channel, size in sizes.items() for _ in range(size)]
    rng.shuffle(slots)
    return slots


def _owners(rng: random.Random, profiles: list[Profile], channels: list[Channel]) -> list[Profile]:
    """Everyone asks at least once; some ask far more often than others."""
    activity = [rng.choice((1, 1, 1, 2, 3, 5)) for _ in profiles]
    texts: dict[int, int] = defaultdict(int)
    owners: list[Profile | None] = [None] * len(channels)
    open_slots: dict[Channel, list[int]] = defaultdict(list)
    for index, channel in enumerate(channels):
        open_slots[channel].append(index)
    for who, profile in enumerate(profiles):
        usable = [c for c in profile.channels if open_slots[c]]
        if usable:
            channel = rng.choice(usable)
            owners[open_slots[channel].pop()] = profile
            texts[who] += channel == SMS
    for index, channel in enumerate(channels):
        if owners[index] is not None:
            continue
        eligible = [
            who
            for who, p in enumerate(profiles)
            if channel in p.channels and (channel != SMS or texts[who] < MAX_TEXT_REQUESTS)
        ]
        if not eligible:  # tiny demos: more texts than text customers can send
            channels[index] = channel = EMAIL
            eligible = [who for who, p in enumerate(profiles) if p.email]
        who = rng.choices(eligible, weights=[activity[w] for w in eligible])[0]
        owners[index] = profiles[who]
        texts[who] += channel == SMS
    return owners


def _start(rng: random.Random, now: datetime) -> datetime:
    """A moment in the last DAYS days: busier lately, on weekdays and in the daytime."""
    while True:
        # More requests in recent weeks, as a growing shop would see.
        day = (now - timedelta(days=DAYS * (1 - math.sqrt(rng.random())))).date()
        if day.weekday() >= 5 and rng.random() < 0.4:
            continue
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(3600)
        )
        if timedelta(days=DAYS - 1) > now - at > timedelta(minutes=10):
            return at


def _text_slots(
    rng: random.Random,
    owners: list[Profile],
    channels: list[Channel],
    now: datetime,
    starts: dict[int, datetime],
) -> set[int]:
    """Space each number's text requests out; all but its last must end closed."""
    by_phone: dict[str, list[int]] = defaultdict(list)
    for index, channel in enumerate(channels):
        if channel == SMS:
            by_phone[owners[index].phone].append(index)
    must_close = set()
    first, last = now - timedelta(days=DAYS - 1), now - timedelta(minutes=10)
    for indexes in by_phone.values():
        # Moments at least TEXT_GAP apart: draw in the shortened window (busier lately, like
        # _start), then spread them out.
        free = last - first - TEXT_GAP * (len(indexes) - 1)
        offsets = sorted(free * math.sqrt(rng.random()) for _ in indexes)
        for n, (index, offset) in enumerate(zip(indexes, offsets, strict=True)):
            starts[index] = (first + offset + TEXT_GAP * n).replace(microsecond=0)
        must_close.update(indexes[:-1])
    return must_close


def _follow_up_picks(rng: random.Random, templates: list[Template], count: int) -> set[int]:
    candidates = [i for i, t in enumerate(templates) if t.comeback]
    return set(rng.sample(candidates, min(count, len(candidates))))


# --- playing ----------------------------------------------------------------------------------


def _play(stories: list[Story], cutoff: datetime) -> None:
    """Run every story's steps in time order across all stories, up to ``cutoff``."""
    queue = [(story.plan.start, story.plan.index, story.play()) for story in stories]
    heapq.heapify(queue)
    while queue:
        _, index, steps = heapq.heappop(queue)
        at = next(steps, None)
        if at is None:
            continue
        if at > cutoff:
            steps.close()  # the rest of this story has not happened yet
            continue
        heapq.heappush(queue, (at, index, steps))


def _external_id(seed: int, plan: Plan, count: int) -> str:
    """The provider id of a customer's message: derived, so loading twice is detectable."""
    if plan.template.channel == EMAIL:
        return f"<demo-{seed}-{plan.index}-{count}@{plan.profile.email.split('@')[1]}>"
    if plan.template.channel == SMS:
        return f"SM{seed:08x}{plan.index:016x}{count:08x}"
    return f"demo-{seed}-{plan.index}-{count}"


class Story:
    """One request played out; ``play`` is a generator of the times of its next steps."""

    def __init__(self, plan: Plan, cast: Cast) -> None:
        self.plan = plan
        self.template = plan.template
        self.cast = cast
        self.rng = random.Random(cast.seed * 100_003 + plan.index)
        specialists = [user for member, user in cast.agents if plan.template.stage in member.stages]
        everyone = [user for _, user in cast.agents]
        self.agent = self.rng.choice(specialists if self.rng.random() < 0.75 else everyone)
        self.fields = self._fields()
        self.ticket: Ticket | None = None
        self.count = 0
        self.last_inbound: Message | None = None
        self.last_reply: Message | None = None

    def _fields(self) -> dict[str, str]:
        rng, profile, start = self.rng, self.plan.profile, self.plan.start
        machine, machine2 = rng.sample(MACHINES, 2)
        grinder, grinder2 = rng.sample(GRINDERS, 2)
        coffee, coffee2 = rng.sample(COFFEES, 2)
        soon = start + timedelta(days=rng.randint(2, 4))
        later = start + timedelta(days=rng.randint(10, 30))
        return {
            "first": profile.first,
            "name": profile.name,
            "agent": self.agent.name.split()[0],
            "machine": machine,
            "machine2": machine2,
            "grinder": grinder,
            "grinder2": grinder2,
            "coffee": coffee,
            "coffee2": coffee2,
            "order": f"RC-{rng.randint(20000, 48999)}",
            "order2": f"RC-{rng.randint(49000, 59999)}",
            "plan": rng.choice(PLANS),
            "city": rng.choice(CITIES),
            "podcast": rng.choice(PODCASTS),
            "company": rng.choice(COMPANIES),
            "amount": f"${rng.randint(18, 240)}.{rng.choice(('00', '50', '90'))}",
            "day": f"{soon:%A}",
            "date": f"{later:%B} {later.day}",
            "code": f"{_ascii(profile.first).upper()[:4]}-{rng.randint(10, 99)}",
            "team": str(rng.choice((8, 12, 15, 20, 25, 40))),
            "bags": rng.choice(("two", "three")),
        }

    def _fill(self, text: str) -> str:
        return text.format_map(self.fields)

    def _after(self, at: datetime, step: str) -> Iterator[datetime]:
        """Wait until the next step; quick answers are more common than slow ones."""
        low, high = DELAYS[step][self.template.channel]
        at = at + timedelta(seconds=round(low + (high - low) * self.rng.random() ** 2))
        yield at
        return at

    def play(self) -> Iterator[datetime]:
        """Open the request, answer it, and see it through as far as the clock allows."""
        t, rng = self.template, self.rng
        lines = [t.opening] if t.channel == EMAIL else t.opening.split("\n")
        at = self.plan.start
        self._write(lines[0], at)
        for line in lines[1:]:
            at = yield from self._after(at, "line")
            self._write(line, at)
        if t.channel == EMAIL and rng.random() < 0.12:
            at = yield from self._after(at, "line")
            self._write(rng.choice(EXTRA_LINES), at)
        recent = self.cast.now - self.plan.start
        if recent < timedelta(hours=16) and rng.random() < 0.5:
            return  # nobody has picked it up yet: the queue always has new requests
        at = yield from self._after(at, "triage")
        self._triage(at)
        at = yield from self._after(at, "respond")
        self._reply(t.reply, at)
        # Solving right after the first reply only makes sense when it asked nothing.
        single = 0 if "?" in t.reply else 25
        path = rng.choices(("talk", "single", "silent", "stuck"), weights=(50, single, 17, 8))[0]
        if path == "stuck" and recent < timedelta(days=7) and not self.plan.must_close:
            at = yield from self._after(at, "answer")
            self._write(t.answer, at)
            return  # the customer answered and the ticket waits in the queue
        if path == "silent":
            at = yield from self._silence(at)
        elif path == "single":
            at = yield from self._after(at, "wrap")
        else:
            at = yield from self._talk(at)
        self._set_status(TicketStatus.SOLVED, at)
        at = yield from self._rate(at)
        yield from self._aftercare(at)

    def _talk(self, at: datetime) -> Iterator[datetime]:
        if self.template.channel != CHAT and self.rng.random() < 0.5:
            self._set_status(TicketStatus.PENDING, at + timedelta(seconds=5))
        at = yield from self._after(at, "answer")
        self._write(self.template.answer, at)
        at = yield from self._after(at, "respond")
        if self.rng.random() < 0.06:
            self._hand_over(at)
        self._reply(self.template.resolution, at + timedelta(seconds=5))
        if self.rng.random() < 0.4:
            at = yield from self._after(at, "thanks")
            self._write(self.rng.choice(THANKS), at)
        return (yield from self._after(at, "wrap"))

    def _silence(self, at: datetime) -> Iterator[datetime]:
        self._set_status(TicketStatus.PENDING, at + timedelta(seconds=5))
        at = yield from self._after(at, "stall")
        days = (at - self.last_reply.created_at).days
        self._note(f"No answer from the customer for {days} days; solving. A reply reopens it.", at)
        return at + timedelta(seconds=5)

    def _aftercare(self, at: datetime) -> Iterator[datetime]:
        """Maybe reopened within the window; maybe closed; maybe followed up weeks later."""
        solved = at
        if not self.plan.must_close and self.rng.random() < 0.1:
            line, answer = self.rng.choice(REOPENS)
            at = yield from self._after(at, "reopen")
            self._write(line, at)
            at = yield from self._after(at, "respond")
            self._reply(answer, at)
            at = yield from self._after(at, "wrap")
            self._set_status(TicketStatus.SOLVED, at)
            solved = at
        if self.plan.must_close or self.rng.random() < 0.55:
            quick = self.plan.must_close and self.template.channel == SMS
            at = yield from self._after(solved, "close soon" if quick else "close")
            self._set_status(TicketStatus.CLOSED, at)
            if self.plan.follow_up:
                yield from self._come_back(at)

    def _rate(self, at: datetime) -> Iterator[datetime]:
        """The satisfaction question after the first solve; some customers answer it."""
        # The demo's history has surveys whether or not HELPDESK_CSAT is on for this install.
        survey = service.ask_for_rating(self.ticket, at) or service.survey_of(self.ticket)
        if survey is None:
            return at
        if survey.question is not None and survey.question not in self.cast.outbound:
            self.cast.outbound.append(survey.question)
        if self.rng.random() >= SURVEY_ANSWER_RATE:
            return at
        at = yield from self._after(at, "thanks")
        weights = SURVEY_SCORES.get(self.template.stage, SURVEY_SCORES[None])
        score = self.rng.choices(range(1, 6), weights=weights)[0]
        if self.template.channel == SMS:
            self._write(str(score), at)  # a bare digit answers the question, as texts do
        else:
            comment = (
                self._fill(self.rng.choice(SURVEY_COMMENTS[score]))
                if self.rng.random() < 0.4
                else None
            )
            service.answer_survey(survey, score, comment, at=at)
        return at

    def _come_back(self, at: datetime) -> Iterator[datetime]:
        """The customer answers an old email of ours; the service opens a linked ticket."""
        line, answer = self.template.comeback
        at = yield from self._after(at, "follow up")
        self._write(line, at)
        at = yield from self._after(at, "triage")
        service.assign(self.ticket, self.agent, self.agent, at=at)
        at = yield from self._after(at, "respond")
        self._reply(answer, at)
        at = yield from self._after(at, "wrap")
        self._set_status(TicketStatus.SOLVED, at)

    # --- the customer's side ---

    def _write(self, body: str, at: datetime) -> None:
        message = service.receive(self._inbound(self._fill(body), at))
        self.count += 1
        self.ticket = message.ticket
        self.last_inbound = message
        self._confirm_typed_address(at)
        self._join_identities(at)

    def _confirm_typed_address(self, at: datetime) -> None:
        """A chat visitor opens the link that proves the address they typed, so their chats
        join the rest of their history (a typed address alone never does)."""
        claim = next((i for i in self.ticket.customer.identities if not i.verified), None)
        if claim is not None:
            service.confirm_identity(claim, self.ticket, "by the emailed link", at=at)

    def _inbound(self, body: str, at: datetime) -> InboundMessage:
        profile, t = self.plan.profile, self.template
        external_id = _external_id(self.cast.seed, self.plan, self.count)
        if t.channel == SMS:
            return InboundMessage(
                SMS,
                TEXT_LINE,
                external_id,
                profile.phone,
                body,
                recipient=TEXT_LINE,
                received_at=at,
            )
        if t.channel == CHAT:
            url = f"https://{SITE}{t.page}"
            tags = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            return InboundMessage(
                CHAT,
                SITE,
                external_id,
                profile.visitor,
                body,
                sender_name=profile.name,
                received_at=at,
                conversation_id=f"demo-{self.cast.seed}-{self.plan.index}",
                page_url=url,
                utm=Utm(tags.get("utm_source"), tags.get("utm_medium"), tags.get("utm_campaign")),
                chosen_stage=t.stage.value if t.chosen else None,
                email=profile.email,
                host_user_id=profile.account,
            )
        return InboundMessage(
            EMAIL,
            MAILBOX,
            external_id,
            profile.email,
            self._customer_email(body),
            sender_name=profile.name,
            recipient=f"{t.to}@{DOMAIN}" if self.count == 0 else MAILBOX,
            subject=self._email_subject(),
            thread_hints=self._thread_hints(),
            received_at=at,
        )

    def _customer_email(self, body: str) -> str:
        signature = self.rng.choice((self.plan.profile.first, self.plan.profile.name))
        if self.count:  # answers on a thread are short
            return f"{body}\n\n{signature}"
        greeting = self.rng.choice(("Hi,", "Hello,", "Hi there,", "Dear Ridgeline team,"))
        closing = self.rng.choice(("Thanks,", "Best,", "Cheers,", "Kind regards,"))
        return f"{greeting}\n\n{body}\n\n{closing}\n{signature}"

    def _email_subject(self) -> str:
        if self.last_reply is not None:
            return self.last_reply.subject
        subject = self._fill(self.template.subject)
        return subject if self.count == 0 else f"Re: {subject}"

    def _thread_hints(self) -> tuple[str, ...]:
        """In-Reply-To our latest reply, else the customer's own previous mail."""
        if self.last_reply is not None:
            return (self.last_reply.external_id,)
        if self.last_inbound is not None:
            return (self.last_inbound.external_id,)
        return ()

    def _join_identities(self, at: datetime) -> None:
        """On first contact, record the other ways a two-channel customer reaches us.

        The service never joins identities by itself (that is an agent's call); the demo plays
        the agent who already knows this person's email address and phone number.
        """
        profile = self.plan.profile
        if not (profile.email and profile.phone) or profile.email in self.cast.linked:
            return
        self.cast.linked.add(profile.email)
        for kind, value in (
            (IdentityKind.EMAIL, profile.email),
            (IdentityKind.PHONE, profile.phone),
        ):
            known = db.session.scalar(
                select(CustomerIdentity.id).where(
                    CustomerIdentity.kind == kind,
                    CustomerIdentity.value == value,
                    CustomerIdentity.verified_at.is_not(None),
                )
            )
            if known is None:
                db.session.add(
                    CustomerIdentity(
                        customer=self.ticket.customer,
                        kind=kind,
                        value=value,
                        verified_at=at,
                        created_at=at,
                    )
                )

    # --- the agents' side ---

    def _triage(self, at: datetime) -> None:
        t, rng, ticket = self.template, self.rng, self.ticket
        self_service = t.channel == CHAT or rng.random() < 0.6
        service.assign(ticket, self.agent if self_service else self.cast.manager, self.agent, at=at)
        priority = t.priority or self._usual_priority()
        service.set_priority(ticket, self.agent, priority, at=at + timedelta(seconds=2))
        if ticket.stage != t.stage:
            service.set_stage(
                ticket,
                self.agent,
                t.stage,
                reason=f"{t.correction or 'corrected'} (set by {self.agent.name})",
                at=at + timedelta(seconds=4),
            )
        note = t.note if t.note and rng.random() < 0.5 else None
        if note is None and rng.random() < 0.15:
            note = rng.choice(NOTES)
        if note:
            self._note(note, at + timedelta(seconds=6))

    def _usual_priority(self) -> Priority:
        roll = self.rng.random()
        if roll < 0.07:
            return Priority.HIGH
        relaxed = (Stage.AWARENESS, Stage.CULTIVATION, Stage.ADVOCACY)
        if self.template.stage in relaxed and roll < 0.3:
            return Priority.LOW
        return Priority.NORMAL

    def _hand_over(self, at: datetime) -> None:
        member, colleague = self.rng.choice(
            [(m, u) for m, u in self.cast.agents if u is not self.agent]
        )
        self._note(f"Handing this over to {member.first}, who knows {member.topic} best.", at)
        service.assign(self.ticket, self.agent, colleague, at=at + timedelta(seconds=2))
        self.agent = colleague
        self.fields["agent"] = member.first

    def _reply(self, body: str, at: datetime) -> None:
        text = self._fill(body)
        first = self.agent.name.split()[0]
        if self.template.channel == EMAIL:
            sign = self.rng.choice(("Best,", "Kind regards,", "All the best,", "Cheers,"))
            hello = f"Hi {self.plan.profile.first},"
            text = f"{hello}\n\n{text}\n\n{sign}\n{first}\n{COMPANY}"
        elif self.template.channel == SMS:
            text = f"{text}\n- {first}, {COMPANY}"
        self.last_reply = service.reply(self.ticket, self.agent, text, at=at)
        self.cast.outbound.append(self.last_reply)

    def _note(self, text: str, at: datetime) -> None:
        service.add_note(self.ticket, self.agent, self._fill(text), at=at)

    def _set_status(self, status: TicketStatus, at: datetime) -> None:
        service.set_status(self.ticket, self.agent, status, at=at)


# --- deliveries -------------------------------------------------------------------------------


def _settle_deliveries(outbound: list[Message], now: datetime) -> None:
    """Mark demo replies as long delivered, so a worker never sends them to made-up people.

    The newest two stay "sent" (the carrier has not confirmed yet) and two recent ones failed,
    so the agent views show every delivery state a real day has.
    """
    ordered = sorted(outbound, key=lambda m: (m.created_at, m.id))
    states = {m.id: DeliveryState.DELIVERED for m in ordered}
    for message in ordered[-2:]:
        states[message.id] = DeliveryState.SENT
    recent = [m for m in ordered[:-2] if now - m.created_at < timedelta(days=3)]
    for channel in (SMS, EMAIL):
        failing = [m for m in recent if m.channel == channel]
        if failing:
            states[failing[-1].id] = DeliveryState.FAILED
    for message in ordered:
        _deliver(message, states[message.id])


FAILURES = {
    SMS: ("30003", "Unreachable destination handset"),
    EMAIL: ("552", "5.2.2 Mailbox full"),
}


def _deliver(message: Message, state: DeliveryState) -> None:
    attempt = DeliveryAttempt(
        message=message,
        worker="demo",
        started_at=message.created_at + timedelta(seconds=2),
        finished_at=message.created_at + timedelta(seconds=3),
    )
    message.attempt_count = 1
    message.next_attempt_at = None
    message.delivery_state = state
    if state == DeliveryState.FAILED:
        attempt.outcome = AttemptOutcome.FAILED
        message.error_code, message.error_text = FAILURES[message.channel]
        attempt.error_code, attempt.error_text = FAILURES[message.channel]
    else:
        attempt.outcome = AttemptOutcome.SENT
        if message.external_id is None:
            # As the worker does: SMS and chat learn their id from the provider.
            message.external_id = (
                f"SM{message.id:032x}" if message.channel == SMS else (f"chat-{message.id}")
            )
        attempt.provider_id = message.external_id
    db.session.add(attempt)
