"""What the demo's visitors ask in the website chat, by journey stage, in the many ways they
put it. The page a chat opens on is often a stage rule; a chat on the home page or the account
pages tells the rules nothing."""

from __future__ import annotations

from helpdesk.demo.wording import CHAT, Template
from helpdesk.models import Priority, Stage

CHAT_TEMPLATES = (
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/blog/dialing-in-espresso",
        openings=(
            "Loved the dial-in guide!\nWhich grinder did you use in the video?",
            "Which grinder is that in the dial-in video?",
            "great article! what grinder do you use",
        ),
        reply="Thanks, glad it helped! That was the {grinder}.",
        answer="Is it good for a beginner?",
        resolution="Yes: it's stepless, so small adjustments are easy, and it's quiet. The link "
        "is in the video description.",
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/blog/cold-brew-at-home",
        openings=(
            "Hi! Trying your cold brew recipe this weekend\nCan I use the {coffee} or is it too "
            "dark?",
            "Is the {coffee} good for cold brew?",
            "how long should cold brew steep? following your recipe",
        ),
        reply="Great choice, the {coffee} makes a really smooth cold brew. Go for a coarse grind "
        "and 16 hours in the fridge.",
        answer="16 hours, got it. Thanks!",
        resolution="Enjoy, and tell us how it turns out!",
        weight=1,
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/?utm_source=instagram&utm_medium=social&utm_campaign=summer-reel",
        openings=(
            "Hey, saw your reel on Instagram\nDo you ship to {city}?",
            "Found you on Instagram! Do you deliver to {city}?",
            "hi, just discovered you guys, where are you based?",
        ),
        reply="Hi! Yes, we ship to {city}: standard delivery takes 2 to 3 days and is free over "
        "$40.",
        answer="Nice. Anything fruity for black coffee?",
        resolution="Try the {coffee2}: bright and fruity, lovely black.",
    ),
    Template(
        Stage.AWARENESS,
        CHAT,
        page="/",
        openings=(
            "A friend brought me a bag of your beans, who are you exactly?",
            "Never heard of you before today, are you a cafe or a shop?",
            "Just saw your van at the market. Do you sell online too?",
        ),
        reply="Welcome! We're a small roastery in Portland: we roast to order and ship all over "
        "the country, and our café is at the roastery.",
        answer="Cool, I'll have a look around",
        resolution="Enjoy! The beginner's guide on our blog is a good start.",
        correction="just found us",
        weight=1,
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/compare/espresso-machines",
        openings=(
            "Hi, what's the difference between the {machine} and the {machine2}?\nI'm a beginner",
            "{machine} vs {machine2}, which is better for a beginner?",
            "which machine would you recommend for lattes",
        ),
        reply="The {machine} keeps it simple: one boiler, great for espresso and the odd "
        "cappuccino. The {machine2} has two, so you can steam and brew at once. For a beginner "
        "the {machine} is a great start.",
        answer="Can I upgrade later if I get hooked?",
        resolution="Yes: within a year our trade-in gives you 40% of the price back towards a "
        "bigger machine.",
        weight=4,
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/compare/grinders",
        openings=(
            "Is the {grinder2} worth the extra over the {grinder}?",
            "flat or conical burrs for espresso?",
            "What's the difference between your grinders?",
        ),
        reply="For espresso, yes: flat burrs give more clarity and stay consistent at fine "
        "settings. For filter the {grinder} is just as good. What do you mostly brew?",
        answer="Mostly espresso",
        resolution="Then I'd go for the {grinder2}. It comes with a free burr alignment check "
        "after six months.",
    ),
    Template(
        Stage.DISCOVERY,
        CHAT,
        page="/",
        openings=(
            "hi, anyone there?\ndo you sell decaf beans?",
            "Do you have decaf?",
            "do you sell ground coffee or only beans",
            "Which coffee is least acidic? My stomach is sensitive",
        ),
        reply="Hi! Yes, our Huila Decaf is Swiss Water processed and very popular. Whole bean or "
        "ground?",
        answer="ground, for a moka pot",
        resolution="Then choose 'moka pot' as the grind option. Enjoy!",
        correction="asking what we sell before buying",
        weight=1,
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/pricing",
        openings=(
            "What's included in the {plan} plan?\nIs shipping included?",
            "Is shipping included in the {plan} plan?",
            "how much is the subscription per month",
            "Can I cancel the {plan} plan any time?",
        ),
        reply="The {plan} plan brings freshly roasted beans every two weeks with free shipping "
        "and 10% off equipment. You can pause or cancel any time.",
        answer="Can I choose the roast?",
        resolution="Yes: pick a favourite, or let our roasters surprise you each time.",
        weight=4,
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/pricing/office",
        openings=(
            "Hi, we're {team} people in the office\nDoes the Office plan scale with headcount?",
            "How is the Office plan priced for {team} people?",
            "office plan - is there a minimum contract?",
        ),
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
        openings=(
            "Is the starter kit deal still on?",
            "How long does the starter kit offer last?",
            "whats in the starter kit",
        ),
        reply="It is, until Sunday: the {grinder}, a scale and two bags of beans for $189.",
        answer="Can one of the bags be the {coffee}?",
        resolution="Yes, you can pick any two bags, the {coffee} included.",
    ),
    Template(
        Stage.ATTRACTION,
        CHAT,
        page="/shop/subscriptions",
        openings=(
            "Is there a discount if I subscribe?",
            "Do subscribers get a better price than one-off orders?",
            "thinking about the subscription, is the first box cheaper?",
        ),
        reply="Subscribers save 15% on every bag, and the first box ships free.",
        answer="And I can skip months?",
        resolution="Any time, from your account. No commitment.",
        correction="weighing the subscription before signing up",
        weight=1,
    ),
    Template(
        Stage.INTERACTION,
        CHAT,
        page="/contact",
        openings=(
            "Hi! Can I visit the roastery?\nI'm in town next week",
            "Do you do roastery tours?",
            "can we come and see the roasting? 2 people",
        ),
        reply="We'd love that! Free tours run on Wednesdays and Saturdays at 11 am. Shall I put "
        "your name down?",
        answer="Saturday please, 2 people",
        resolution="You're on the list for Saturday at 11, two people. See you there!",
    ),
    Template(
        Stage.INTERACTION,
        CHAT,
        page="/contact",
        openings=(
            "I run a small café in {city}\nCould I talk to someone about wholesale?",
            "Who do I talk to about wholesale prices?",
            "do you supply cafes?",
        ),
        reply="Absolutely! I can set up a call with our wholesale lead, Dana. When suits you?",
        answer="Tomorrow morning works, I'll leave my number in the form",
        resolution="Perfect, Dana will call you tomorrow morning.",
        weight=1,
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/checkout",
        openings=(
            "My card keeps getting declined at checkout\nTried twice now",
            "Payment won't go through, card declined",
            "checkout says error when I pay",
        ),
        reply="Sorry about that! Declines often come from the bank's security check. Did you get "
        "a code or an app notification from your bank?",
        answer="Oh, there was a notification I ignored. Trying again",
        resolution="Great, order {order} has gone through. Thanks for your patience!",
        priority=Priority.HIGH,
        weight=4,
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/checkout/shipping",
        openings=(
            "Why can't I pick express shipping?\nI'm in {city}",
            "Express delivery isn't offered for my order, why?",
            "no express option at checkout?",
        ),
        reply="Express isn't available for orders with a machine, because machines ship by "
        "freight. Beans and accessories can go express.",
        answer="Ok, can I split the order then?",
        resolution="Yes: order the beans separately with express; the machine follows by "
        "standard freight.",
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/shop/machines",
        openings=(
            "Can I pay the {machine} in instalments?",
            "Do you take Apple Pay?",
            "is there a discount code for the {machine}? about to buy",
        ),
        reply="Yes: at checkout choose 'Pay in 4' and it's split into four payments, no fees.",
        answer="Great, ordering now",
        resolution="Enjoy your new machine!",
        correction="about to pay for an order",
        weight=1,
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/docs/descaling",
        openings=(
            "I'm on step 4 of the descaling guide\nWhich button do I hold for the rinse?",
            "Which buttons start the rinse when descaling?",
            "descaling step 4 doesn't work, what do I press",
        ),
        reply="Hold the steam button and the single-cup button together for 3 seconds, until "
        "both blink.",
        answer="Got it, it's rinsing now",
        resolution="Perfect, it takes about 10 minutes and then you're good to go.",
        weight=4,
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/docs/grinder-calibration",
        openings=(
            "The calibration guide says turn until the burrs touch\nMine never touch, is it "
            "broken?",
            "burrs won't touch when calibrating, broken?",
            "How do I find zero on the {grinder}?",
        ),
        reply="Not broken! The {grinder} has a safety stop while the hopper is on. Did you take "
        "the hopper off first?",
        answer="That was it, they touch now",
        resolution="Great: set zero there, then go back to 8 for espresso.",
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/account/orders",
        openings=(
            "My order says shipped a week ago but tracking hasn't moved",
            "where is my order? tracking stuck",
            "Hi\nmy parcel hasn't arrived yet",
        ),
        reply="Sorry for the wait! The courier scanned it this morning; it arrives {day}.",
        answer="ok thanks",
        resolution="Let us know if it isn't there by then.",
        correction="a delivered order's shipping, not a purchase",
        weight=1,
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/",
        openings=(
            "My machine leaks water from the bottom",
            "The {machine} drips water under it, is that normal?",
            "puddle under my espresso machine every morning",
        ),
        reply="That's usually the drip tray's seal. Take the tray out, check the rubber ring "
        "sits in its groove and push it back until it clicks.",
        answer="The ring was loose, it's dry now",
        resolution="Great, happy brewing!",
        correction="a problem with a machine they own",
        priority=Priority.HIGH,
        weight=1,
    ),
    Template(
        Stage.CULTIVATION,
        CHAT,
        page="/shop/limited-release?utm_source=newsletter&utm_medium=email&utm_campaign=new-lots",
        openings=(
            "Got your newsletter\nIs the {coffee} lot back?",
            "Is the {coffee} from the newsletter back in stock?",
            "newsletter said new lots - can I add one to my next box?",
        ),
        reply="It is! Only 40 bags this time, and subscribers get first pick until Friday.",
        answer="Can I add it to my next delivery?",
        resolution="Added to your next delivery. Enjoy!",
    ),
    Template(
        Stage.CULTIVATION,
        CHAT,
        page="/blog/meet-our-farmers?utm_source=newsletter&utm_medium=email&utm_campaign=farms",
        openings=(
            "Loved the farmer story in the newsletter\nCan I buy beans from that farm?",
            "Can I buy the beans from the farm in your newsletter?",
        ),
        reply="So glad you liked it! That's the {coffee2}, in the shop now; subscribers can add "
        "it to their next box too.",
        answer="Adding it now!",
        resolution="Wonderful, thank you for supporting them.",
        weight=1,
    ),
    Template(
        Stage.CULTIVATION,
        CHAT,
        page="/account/subscription",
        openings=(
            "Can I change my delivery day for the monthly box?",
            "how do I add a second bag to my subscription",
            "I'd like to swap next month's coffee, where do I do that?",
        ),
        reply="Under Subscription, Next box you can swap the coffee, add a bag or move the "
        "delivery day; I've opened it for you.",
        answer="Found it, thanks",
        resolution="Enjoy the next box!",
        correction="a subscriber changing their box",
        weight=1,
    ),
    Template(
        Stage.ADVOCACY,
        CHAT,
        page="/account/referrals",
        openings=(
            "My referral link doesn't give my friend the discount\nShe says the code field is "
            "empty",
            "My friend didn't get the discount from my link",
            "how do I share my code with friends",
        ),
        reply="Thanks for telling us! The link only fills the code in before your friend logs "
        "in. I've sent her the code {code} directly so she can paste it.",
        answer="Great, she used it",
        resolution="Wonderful, your $10 credit appears once her order ships.",
    ),
    Template(
        Stage.USE,
        CHAT,
        page="/account",
        chosen=True,
        openings=(
            "My beans arrived but the bag was torn\nHalf of it spilled in the box",
            "Bag of beans arrived torn open",
            "the coffee bag was ripped when it came",
        ),
        reply="Oh no, sorry! A replacement bag ships today, no need to return anything.",
        answer="Thank you!",
        resolution="You'll get the tracking link by email.",
    ),
    Template(
        Stage.PURCHASE,
        CHAT,
        page="/",
        chosen=True,
        openings=(
            "I'd like to buy a gift card\nCan I choose the amount?",
            "Do you sell gift cards?",
            "gift voucher for my sister - how does it work",
        ),
        reply="Yes, anything from $20 to $200, and you can schedule the email for a date.",
        answer="Perfect, $50 for Sunday",
        resolution="Great: pick Sunday as the send date on the gift card page.",
        weight=1,
    ),
)
