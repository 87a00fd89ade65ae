"""What the demo's customers ask by email before and while they buy (awareness to purchase),
in the many ways they put it."""

from __future__ import annotations

from helpdesk.demo.wording import EMAIL, Template
from helpdesk.models import Priority, Stage

EMAIL_BUYING = (
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="sales",
        subjects=(
            "Office order: machine and beans for {team} people",
            "Quote for our office",
            "Coffee for the office",
            "quote request",
        ),
        openings=(
            "We're setting up a coffee corner for our office of about {team} people and are "
            "looking at the {machine} plus a monthly delivery of beans. Could you send a quote?",
            "Could you quote a {machine} and monthly beans for a team of {team}?",
            "We'd like to buy an espresso machine for the office and get beans every month. "
            "What would that cost?",
        ),
        details=(
            "Please include delivery and installation.",
            "We'd pay by bank transfer.",
            "Our budget is roughly {amount} a month.",
        ),
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
        weight=4,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="sales",
        subjects=(
            "Add a grinder to order {order}?",
            "Change my order",
            "Can I still add something?",
            "Order {order} - one more item",
            "Question about my order",
        ),
        openings=(
            "I placed order {order} this morning for the {machine}. Could you still add the "
            "{grinder} so they ship together?",
            "Is it too late to add the {grinder} to my order from today?",
            "I just ordered and forgot the grinder, can you add it before it ships?",
            "I have a question about my order {order} from this morning: can the {grinder} "
            "still go in?",
        ),
        details=(
            "Happy to pay the difference.",
            "Same card as the order is fine.",
        ),
        reply="Good timing: your order hasn't been packed yet. I've added the {grinder} and "
        "sent a payment link for the difference ({amount}) to this address. Both ship together "
        "as soon as it's paid.",
        answer="Paid just now, thanks!",
        resolution="Payment received and the order is updated. You'll get the tracking link "
        "once it leaves the warehouse, usually the next business day.",
        weight=4,
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
        subjects=(
            "Invoice with company details for {order}",
            "Company invoice needed",
            "VAT invoice",
            "invoice for {order}",
        ),
        openings=(
            "Could you send me an invoice for order {order} with our company name and tax ID on "
            "it? Company: {company}, tax ID 12-3456789.",
            "Our accounts team needs a proper invoice for {order} made out to {company}.",
            "Can I get the invoice in the company's name? {company}, tax ID 12-3456789.",
        ),
        details=("Our accounts team needs it.", "A PDF is fine."),
        reply="Of course. I've reissued the invoice for {order} with {company} and your tax ID "
        "and attached it as a PDF. Does everything look right?",
        answer="Perfect, that's exactly what they needed.",
        resolution="Glad to help! Orders from this account will carry the company details "
        "automatically from now on.",
        weight=3,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        to="billing",
        subjects=("Wrong address on my invoice", "Invoice address", "Please correct my invoice"),
        openings=(
            "The invoice for order {order} still shows my old address in {city}. Can you "
            "correct it?",
            "I moved, and the invoice has my old address on it.",
        ),
        reply="Thanks for spotting that. I've updated the billing address and attached a "
        "corrected copy. Should I also change the address on your account for future orders?",
        answer="Yes please, use the new one for everything.",
        resolution="Done: your account now uses the new address for billing and delivery.",
        weight=1,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        subjects=(
            "Payment failed",
            "Can't pay with PayPal",
            "Problem paying for my order",
            "checkout error",
            "Card declined?",
        ),
        openings=(
            "I tried to buy the {grinder} but the payment keeps failing at the last step.",
            "Your checkout won't take my card, it just says 'payment declined'.",
            "Is PayPal not working? I wanted to order two bags of {coffee} and it errors out.",
            "i cant complete my order, the page reloads after I enter the card details",
            "Problem with my order, can someone help? The payment doesn't go through.",
        ),
        details=(
            "My bank says everything is fine on their side.",
            "Tried two different cards.",
            "The basket is still there.",
        ),
        reply="Sorry about that! Our payment provider had a short outage this morning. Could "
        "you try again now? Your basket is saved.",
        answer="It went through this time, thanks.",
        resolution="Great, I can see order {order2} is paid and on its way to the warehouse.",
        correction="trying to pay for an order, not using a product yet",
        priority=Priority.HIGH,
        weight=2,
    ),
    Template(
        Stage.PURCHASE,
        EMAIL,
        subjects=(
            "Delivery to {city} before the weekend?",
            "Will it arrive in time?",
            "Gift - delivery time",
            "shipping time to {city}",
        ),
        openings=(
            "If I order the {grinder} today, will it reach {city} before the weekend? It's a gift.",
            "How quickly can you ship to {city}? I want to order a grinder for my dad's birthday.",
            "Can you deliver by Saturday if I order now? It's a present.",
        ),
        details=("Could you leave the prices out of the box?", "Express is fine."),
        reply="If you order before 2 pm today with express shipping, it arrives by {day}. I can "
        "also add a gift note and leave prices out of the box.",
        answer="Just ordered, number {order}. Gift note: 'Happy birthday, Dad!'",
        resolution="The gift note is on {order}, no prices will be printed, and it ships today.",
        correction="placing an order, not using a product yet",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        EMAIL,
        to="events",
        subjects=(
            "Latte art class for two",
            "Booking a class",
            "Birthday present - latte art workshop",
        ),
        openings=(
            "I'd like to book your latte art class for my partner and me as a birthday "
            "surprise. Do you have two spots in the next few weeks?",
            "Are there still places in the latte art workshop? We'd be two.",
            "Can I book two places in a latte art class as a gift?",
        ),
        reply="What a lovely present! We have two spots left on {date} at 10 am, and more the "
        "weekend after. Shall I reserve {date} for you?",
        answer="{date} is perfect, please book it under my name.",
        resolution="You're booked: two places on {date}, 10 am at the roastery. A confirmation "
        "with directions is on its way. Happy early birthday to your partner!",
        weight=3,
    ),
    Template(
        Stage.INTERACTION,
        EMAIL,
        to="events",
        subjects=("Cupping session for our team", "Team outing at the roastery", "Group visit"),
        openings=(
            "Our team of {team} would like to visit the roastery for a cupping session as a team "
            "outing. Is that something you offer, and what does it cost?",
            "Do you host groups? We're {team} colleagues looking for a coffee tasting.",
        ),
        reply="We'd love to host you! Private cuppings take 90 minutes and cost $25 per person, "
        "including a bag of beans to take home. Which dates would work for your team?",
        answer="Either a Thursday afternoon in two weeks or the Tuesday after.",
        resolution="I've pencilled you in for the Thursday at 3 pm. A calendar invite with the "
        "address follows; just send the final headcount by the Monday before.",
        weight=2,
    ),
    Template(
        Stage.INTERACTION,
        EMAIL,
        subjects=("Can someone call me?", "Callback please", "Talk to a person", "Phone call"),
        openings=(
            "Could someone from your team call me? It's easier to explain on the phone.",
            "I'd rather talk this through with a person. My number is in my account.",
            "Is there a number I can call you on? I have a few questions.",
        ),
        reply="Of course! What would be a good time to call you, and what's it about, so the "
        "right person rings you?",
        answer="Tomorrow after 4 pm. It's about supplying beans to our small café.",
        resolution="Dana from our wholesale team will call you tomorrow after 4 pm.",
        correction="asked to talk to us, not about a product they own",
        weight=1,
    ),
    Template(
        Stage.AWARENESS,
        EMAIL,
        subjects=(
            "Heard about you on a podcast",
            "New to specialty coffee",
            "Where do I start?",
            "Beginner question",
        ),
        openings=(
            "I heard your head roaster on the {podcast} podcast and got curious. I'm new to "
            "specialty coffee; where should I start if I only have a French press?",
            "A friend told me about you. I only have a French press, which coffee would you "
            "recommend for a beginner?",
            "Saw your stand at the farmers market in {city}. What's a good first coffee to try?",
        ),
        reply="Welcome! For a French press I'd start with the {coffee}: forgiving, chocolatey "
        "and great with a coarse grind. There's also a short beginner's guide on our blog. "
        "Would you like it ground for you?",
        answer="Yes please, ground for French press would be easiest.",
        resolution="Perfect: pick 'French press' as the grind option when you order and we'll "
        "take care of it. Enjoy your first cup!",
        correction="just found us and curious",
        weight=2,
    ),
    Template(
        Stage.DISCOVERY,
        EMAIL,
        subjects=(
            "{machine} or {machine2}?",
            "Which machine should I buy?",
            "Advice on choosing a machine",
            "help me decide",
        ),
        openings=(
            "I'm trying to decide between the {machine} and the {machine2}. I mostly make flat "
            "whites for two in the morning. Which one would you pick?",
            "Which of your espresso machines is best for milk drinks? Deciding between the "
            "{machine} and {machine2}.",
            "Before I order: is the {machine2} worth the extra over the {machine}?",
        ),
        details=("Kitchen space is tight.", "Budget is flexible."),
        reply="For flat whites for two the {machine2} has the edge: its second boiler steams "
        "milk while the shot runs, so you're done in half the time. The {machine} is lovely "
        "too, but happier making one cup at a time.",
        answer="That makes sense. Does the {machine2} fit under standard kitchen cabinets?",
        resolution="It does: it's 38 cm tall, and you'll want about 10 cm above it to fill the "
        "tank. Happy to help whenever you're ready.",
        correction="comparing machines before buying, not a problem with one",
    ),
    Template(
        Stage.DISCOVERY,
        EMAIL,
        subjects=(
            "Do you ship abroad?",
            "Shipping to Canada",
            "International delivery",
            "Quick question",
        ),
        openings=(
            "Do you deliver to Canada, and how much does shipping cost?",
            "I'm in Toronto. Can I order from you, and would there be customs fees?",
            "Do you ship outside the US? Looking at your beans.",
        ),
        reply="We do ship to Canada: $12 flat, 4 to 6 days, and duties are included in the "
        "price, so nothing to pay at the door.",
        answer="Great, and beans are roasted to order?",
        resolution="Always: roasted the day before they ship. Happy shopping!",
        correction="asking what we offer before buying",
        weight=1,
    ),
    Template(
        Stage.ATTRACTION,
        EMAIL,
        subjects=(
            "Is the summer offer still on?",
            "Discount code from your ad",
            "Promo code",
            "Quick question",
        ),
        openings=(
            "I saw your ad with 20% off the first subscription box. Is that still valid?",
            "The discount code from your Instagram ad doesn't work, is the offer over?",
            "Do you have any deals on the starter kit at the moment?",
        ),
        reply="The offer runs until Sunday! The code is SUMMER20, entered at checkout.",
        answer="Got it, thanks. Can I combine it with free shipping?",
        resolution="Yes: shipping is free over $40 anyway, so both apply.",
        correction="weighing an offer, not a customer yet",
        weight=1,
    ),
)
