"""What the demo's customers and agents say around the requests themselves (afterthoughts,
thanks, survey answers, notes, reopenings), the names, products and places the stories draw
from, and how the requests spread over channels and time."""

from __future__ import annotations

from datetime import timedelta

from channels.base import Channel
from helpdesk.demo.chat_requests import CHAT_TEMPLATES
from helpdesk.demo.email_buying import EMAIL_BUYING
from helpdesk.demo.email_owning import EMAIL_OWNING
from helpdesk.demo.text_requests import SMS_TEMPLATES
from helpdesk.demo.wording import CHAT, EMAIL, SMS
from helpdesk.models import Stage

TEMPLATES = EMAIL_OWNING + EMAIL_BUYING + SMS_TEMPLATES + CHAT_TEMPLATES

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
# How NPS answers (0..10) fall: most promoters, a tail of detractors.
NPS_SCORES = (3, 1, 2, 2, 3, 5, 6, 10, 16, 22, 30)
# The comment mood (the CSAT score whose comments fit) of each NPS answer.
NPS_MOODS = (1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5)
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
