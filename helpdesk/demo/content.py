"""What the demo's customers write and agents answer: request templates by journey stage,
and the names, products and timings the stories draw from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from channels.base import Channel
from helpdesk.models import (
    Priority,
    Stage,
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
        Stage.USE,
        SMS,
        opening="ORDER {order} came yesterday but the {grinder} won't turn on at all",
        reply="Sorry about that! Is the bean hopper clicked fully into place? The {grinder} "
        "stays off until it is, as a safety lock.",
        answer="That was it, it runs now. Thanks!",
        resolution="Great to hear. Enjoy the fresh grind!",
        correction="a problem with a delivered grinder, not a new order",
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
