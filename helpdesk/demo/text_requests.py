"""What the demo's customers text to the shop's number, by journey stage, in the many ways they
put it. A first word such as ORDER or TRACK is a stage rule; plenty of people don't use one."""

from __future__ import annotations

from helpdesk.demo.wording import SMS, Template
from helpdesk.models import Priority, Stage

SMS_TEMPLATES = (
    Template(
        Stage.PURCHASE,
        SMS,
        openings=(
            "ORDER 2 bags {coffee}, whole bean, same card as last time",
            "ORDER {bags} x {coffee} please",
            "ORDER the usual please, 2 bags whole bean",
            "Order 2 bags of {coffee} whole bean pls, same card",
        ),
        reply="Thanks! 2 x {coffee}, whole bean: {amount} on your saved card. Reply YES to "
        "confirm.",
        answer="YES",
        resolution="Confirmed: order {order2} ships tomorrow, and we'll text you the tracking "
        "link.",
        weight=4,
    ),
    Template(
        Stage.PURCHASE,
        SMS,
        openings=(
            "Can I get 2 more bags of the {coffee}? Same as last time",
            "hi can I reorder the {coffee}, whole bean",
            "Need more beans! 2x {coffee} to my usual address please",
        ),
        reply="Sure! 2 x {coffee}, whole bean, {amount} on your saved card. Reply YES to confirm.",
        answer="yes",
        resolution="Confirmed: order {order2} ships tomorrow.",
        correction="ordering by text without the ORDER keyword",
        weight=1,
    ),
    Template(
        Stage.USE,
        SMS,
        openings=(
            "ORDER {order} came yesterday but the {grinder} won't turn on at all",
            "The grinder from my order won't switch on",
            "{grinder} arrived today, doesn't start. Dead?",
        ),
        reply="Sorry about that! Is the bean hopper clicked fully into place? The {grinder} "
        "stays off until it is, as a safety lock.",
        answer="That was it, it runs now. Thanks!",
        resolution="Great to hear. Enjoy the fresh grind!",
        correction="a problem with a delivered grinder, not a new order",
    ),
    Template(
        Stage.PURCHASE,
        SMS,
        openings=(
            "Order {order} - can I still change the grind to espresso?",
            "Just ordered, can u change the grind to espresso before it ships?",
            "Is it too late to change my order to ground for espresso?",
        ),
        reply="It hasn't been packed yet, so yes. Espresso grind for both bags?",
        answer="Yes both please",
        resolution="Done, both bags of {order} will be ground for espresso.",
    ),
    Template(
        Stage.USE,
        SMS,
        openings=("TRACK {order}", "TRACK {order} please", "track {order} pls"),
        reply="{order} left our warehouse yesterday and is due {day}. Tracking: "
        "https://ship.example.com/t/{order}",
        answer="thx! can they leave it with a neighbour?",
        resolution="I've added a note for the courier to leave it with a neighbour if you're out.",
        weight=4,
    ),
    Template(
        Stage.USE,
        SMS,
        openings=(
            "Track {order} please, it said out for delivery yesterday but nothing came",
            "My parcel says delivered but it's not here",
            "Courier never came yesterday, order {order}",
        ),
        reply="Sorry about that! The courier logged a failed attempt; it's redelivered today "
        "before 6 pm. Want me to switch it to a pickup point instead?",
        answer="No, today is fine, I'm home",
        resolution="Great, the courier has the note. Text us if it doesn't turn up.",
        priority=Priority.HIGH,
    ),
    Template(
        Stage.USE,
        SMS,
        openings=(
            "Hi, my {machine} shows a blinking red light\nThe one on the left, next to the power "
            "button",
            "Red light blinking on my machine, what does that mean?",
            "machine beeps and the red light flashes, no coffee comes out",
            "Help, {machine} won't brew, light blinking",
        ),
        reply="That light means the water tank isn't seated. Could you lift the tank and push "
        "it down firmly until it clicks?",
        answer="That was it!! thank you",
        resolution="Happy brewing!",
        weight=3,
    ),
    Template(
        Stage.CULTIVATION,
        SMS,
        openings=(
            "CLUB skip next delivery please, I'm away until {date}",
            "CLUB pause for a month",
            "CLUB skip one, back {date}",
        ),
        reply="Got it, your next Bean Club box is skipped and the one after ships on {date}. "
        "Anything else?",
        answer="nope that's all, thanks",
        resolution="Enjoy your trip!",
        weight=3,
    ),
    Template(
        Stage.CULTIVATION,
        SMS,
        openings=(
            "CLUB can I switch to decaf for a while?",
            "Can my monthly box be decaf for a bit?",
            "switch my subscription to decaf pls",
        ),
        reply="Of course! Your box switches to the Huila Decaf from the next delivery. Ground or "
        "whole bean?",
        answer="whole bean",
        resolution="All set: Huila Decaf, whole bean, from {date}.",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        SMS,
        openings=(
            "CALL me about a wholesale account please, after 3pm works best",
            "CALL me back when you can",
            "CALL re wholesale, after 3",
        ),
        reply="Happy to call! Does tomorrow at 3:30 pm work?",
        answer="Yes perfect",
        resolution="Booked: I'll call you tomorrow at 3:30 pm.",
    ),
    Template(
        Stage.DISCOVERY,
        SMS,
        openings=(
            "Hi do you have the {grinder} in stock at the {city} shop?",
            "Is the {grinder} available in store?",
            "do u sell the {grinder} in {city}",
        ),
        reply="Yes, there are two in {city} right now. Want me to hold one for you until Saturday?",
        answer="yes please, under {first}",
        resolution="Done: it's on hold in {city} under {first} until Saturday.",
        correction="asking about stock before buying",
    ),
    Template(
        Stage.DISCOVERY,
        SMS,
        openings=(
            "hi what are your opening hours",
            "Are you open on Sundays?",
            "hello, what time does the {city} shop close today",
        ),
        reply="Hi! The {city} shop is open 8 am to 6 pm every day, Sundays 9 to 4.",
        answer="great thx",
        resolution="See you soon!",
        correction="asking about us before buying",
        weight=1,
    ),
    Template(
        Stage.ADVOCACY,
        SMS,
        openings=(
            "Just left you a 5-star review, the {coffee} is amazing!",
            "Told all my friends about you, the {coffee} is amazing",
            "5 stars from me! best beans in town",
        ),
        reply="Thank you so much, that made our day! Here's 15% off your next bag: THANKS15",
        answer="aw thanks!",
        resolution="Enjoy the next bag!",
        weight=1,
    ),
    Template(
        Stage.ATTRACTION,
        SMS,
        openings=(
            "Got your flyer, is the 2-for-1 on beans still on?",
            "is the discount from the flyer still valid",
            "Saw the starter kit offer, how much is it?",
        ),
        reply="It is, until Sunday: two bags for the price of one with code FLYER.",
        answer="nice",
        resolution="Enjoy!",
        correction="weighing an offer before buying",
        weight=1,
    ),
    Template(
        Stage.USE,
        SMS,
        openings=(
            "hi",
            "Hello? I have a question",
            "Hi are you there",
        ),
        reply="Hi! How can we help?",
        answer="my grinder makes a weird noise since yesterday",
        resolution="That usually means a bean stuck between the burrs: run it empty for a few "
        "seconds. If it keeps on, text us a video.",
        weight=1,
    ),
    Template(
        Stage.USE,
        SMS,
        openings=(
            "Where's my parcel? {order}",
            "has order {order} shipped yet?",
            "Any news on my delivery?",
        ),
        reply="{order} left our warehouse yesterday and is due {day}. Tracking: "
        "https://ship.example.com/t/{order}",
        answer="great, thanks",
        resolution="Text us if it isn't there by then.",
        weight=1,
    ),
    Template(
        Stage.CULTIVATION,
        SMS,
        openings=(
            "Can you skip my next coffee box? Away till {date}",
            "Please hold my subscription until {date}",
        ),
        reply="Done: your next box is skipped and the one after ships on {date}.",
        answer="thanks!",
        resolution="Enjoy your trip!",
        correction="a subscriber pausing their box",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        SMS,
        openings=(
            "Could someone call me about wholesale? After 3",
            "can I speak to someone about supplying my cafe",
        ),
        reply="Happy to call! Does tomorrow at 3:30 pm work?",
        answer="Yes perfect",
        resolution="Booked: I'll call you tomorrow at 3:30 pm.",
        correction="asked us to call about wholesale",
        weight=1,
    ),
)
