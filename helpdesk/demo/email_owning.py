"""What the demo's customers ask by email once they own something of ours (use, cultivation,
advocacy), in the many ways they put it."""

from __future__ import annotations

from helpdesk.demo.wording import EMAIL, Template
from helpdesk.models import Priority, Stage

EMAIL_OWNING = (
    Template(
        Stage.USE,
        EMAIL,
        subjects=(
            "{machine} not heating up",
            "Espresso comes out cold",
            "heating problem",
            "{machine} - lukewarm shots",
            "Machine won't get hot anymore",
            "Warranty repair?",
            "Problem with my espresso machine",
        ),
        openings=(
            "My {machine} stopped heating properly this week. The pressure gauge barely moves "
            "and the shots come out lukewarm.",
            "The shots from my {machine} are only lukewarm since Monday and the steam wand "
            "hardly steams.",
            "Something is wrong with my machine, the coffee is barely warm even after waiting "
            "half an hour.",
            "My espresso machine doesn't get hot anymore. Is this covered by the warranty?",
            "the {machine} takes forever to heat and then the coffee is cold. what can I do",
        ),
        details=(
            "I descaled it last month following your guide.",
            "It's about eight months old, order {order}.",
            "I've already tried switching it off and on again.",
            "We use filtered water, so it shouldn't be limescale.",
            "The heating light blinks now and then.",
        ),
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
        subjects=(
            "Grinder making a clicking noise",
            "{grinder} clicking",
            "strange noise from grinder",
            "Grind uneven after cleaning",
            "Did I break my grinder?",
        ),
        openings=(
            "Since yesterday my {grinder} makes a loud clicking sound and the grounds come out "
            "uneven.",
            "My grinder started clicking and grinding unevenly right after I cleaned it.",
            "There's a ticking noise from the {grinder} whenever it runs, and the coffee tastes "
            "sour now.",
            "Did I put something back wrong? The grinder rattles since I took the burrs out.",
        ),
        details=(
            "I cleaned the burrs at the weekend.",
            "I followed the video on your site.",
            "It's only a few months old.",
            "Grind setting is 10, same as always.",
        ),
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
        subjects=(
            "Order {order} arrived damaged",
            "Broken carafe",
            "damaged delivery",
            "Parcel dented, glass cracked",
            "Order {order}",
        ),
        openings=(
            "The box for order {order} arrived today with a big dent, and the glass carafe "
            "inside is cracked.",
            "My delivery came this morning and the carafe was broken in the box.",
            "Unfortunately the glass jug in my parcel is cracked, the courier must have dropped "
            "it.",
            "order {order} came damaged - carafe in pieces",
            "Problem with my order {order}, please get back to me. The carafe is broken.",
        ),
        details=(
            "Everything else seems fine.",
            "What should I do with the broken one?",
            "I have photos of the box.",
            "It was meant as a gift, so a bit of a shame.",
        ),
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
        subjects=(
            "Missing item in my order",
            "Coffee missing from delivery",
            "Where are my beans?",
            "Incomplete order {order}",
            "Question about my order",
        ),
        openings=(
            "I received order {order} today but the {bags} bags of {coffee} aren't in the box, "
            "although the packing slip lists them.",
            "The parcel came but without the coffee. Only the filters were inside.",
            "My order is incomplete: the {coffee} is missing.",
            "Got my delivery, but something's missing from it.",
            "I have a question about my order {order}, something isn't right.",
        ),
        details=(
            "Could you check?",
            "The packing slip lists {bags} bags.",
            "I'd need the beans before the weekend if possible.",
        ),
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
        subjects=(
            "Charged twice this month",
            "Double charge",
            "Refund please - duplicate payment",
            "two payments on my card??",
        ),
        openings=(
            "I was charged {amount} twice on my card for my subscription this month. Could you "
            "refund the duplicate?",
            "My bank statement shows the same payment of {amount} two times.",
            "You took the subscription money twice this month, please refund one of them.",
        ),
        details=(
            "Both on the same day.",
            "I only have one subscription.",
        ),
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
        Stage.USE,
        EMAIL,
        subjects=(
            "Milk frother not working",
            "steam wand blocked",
            "No steam from the wand",
            "Can't froth milk anymore",
        ),
        openings=(
            "The steam wand on my {machine} only sputters and the milk doesn't foam anymore.",
            "No steam comes out of the wand since this morning, just a hiss.",
            "How do I unblock the steam wand? Milk is burnt on the tip I think.",
        ),
        details=(
            "Espresso still works fine.",
            "I do wipe it after every use.",
            "It's the {machine} I bought in spring.",
        ),
        reply="That sounds like dried milk in the steam tip. Unscrew the tip, soak it in warm "
        "water for ten minutes and clear the holes with the pin from the accessory box. Does "
        "it steam again after that?",
        answer="Soaked it and cleared the holes, steam is back!",
        resolution="Brilliant. A quick purge before and after each use keeps the holes clear.",
        weight=2,
    ),
    Template(
        Stage.CULTIVATION,
        EMAIL,
        subjects=(
            "Pausing my Bean Club delivery",
            "Pause subscription",
            "Skip next month",
            "Going on holiday - deliveries",
        ),
        openings=(
            "I'm travelling for most of next month. Can I pause my Bean Club delivery without "
            "losing my member price?",
            "Can I skip next month's coffee delivery? I'm away.",
            "Please pause my subscription for a month, I'll be on holiday.",
            "how do I pause the monthly beans? couldn't find it in my account",
        ),
        details=("I'd like to keep my member price.", "I'm back on {date}."),
        reply="Of course, and your member price stays the same. I've paused your deliveries for "
        "a month; the next bag ships on {date}. Would you like a reminder a few days before it "
        "restarts?",
        answer="Yes, a reminder would be great.",
        resolution="Done: you'll get a reminder three days before. Safe travels!",
    ),
    Template(
        Stage.CULTIVATION,
        EMAIL,
        subjects=(
            "Trying a new roast in the Bean Club",
            "Change my subscription coffee",
            "Something lighter please",
            "Different beans next time?",
        ),
        openings=(
            "I've had the {coffee} in every Bean Club box so far. Could I try something lighter "
            "for the next few months?",
            "Could you switch my monthly coffee to something fruitier?",
            "I'd like a change from the {coffee} in my subscription. Any recommendation?",
        ),
        details=("I mostly drink it black.", "I brew with a V60."),
        reply="Happy to change it up! For something lighter I'd suggest the {coffee2}: bright, "
        "with lots of citrus. Shall I switch your next three boxes to it?",
        answer="Sounds good, let's try it.",
        resolution="Switched! Your next box ships on {date} with the {coffee2}. If you miss the "
        "old one, reply here and I'll swap it back.",
    ),
    Template(
        Stage.CULTIVATION,
        EMAIL,
        subjects=("Loyalty points", "My member discount", "Points not added"),
        openings=(
            "I don't think the points from my last order were added to my account.",
            "Does my member discount also apply to equipment?",
            "How many loyalty points do I have, and what can I use them for?",
        ),
        reply="Thanks for being with us so long! Your points are there (they show once an "
        "order ships), and members get 10% off equipment too.",
        answer="Great, I'll use them on a new scale then.",
        resolution="Enjoy! The discount is applied automatically at checkout when you're "
        "logged in.",
        correction="a member asking about their perks",
        weight=2,
    ),
    Template(
        Stage.ADVOCACY,
        EMAIL,
        subjects=("Photos for my review", "Blog post about your machine", "Press kit?"),
        openings=(
            "I wrote a review of the {machine} on my blog and would love to use a couple of "
            "your product photos. Is that OK, and do you have a press kit?",
            "I'm writing about my favourite roasters on my blog and you're on the list. Can I "
            "use your photos?",
        ),
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
        subjects=(
            "Referral credit not showing",
            "My friend used my code",
            "Recommended you - where's my credit?",
        ),
        openings=(
            "My friend ordered with my referral code {code} last week, but the $10 credit isn't "
            "on my account yet.",
            "I recommended you to two colleagues and one already ordered, but I see no credit.",
            "Where do I see the credit for friends I've sent your way? Code {code}.",
        ),
        reply="Thanks for spreading the word! The credit is added once your friend's order has "
        "shipped, which happened yesterday. I've added the $10 by hand so you don't have to "
        "wait.",
        answer="I see it now, thank you!",
        resolution="Great! Thanks again for recommending us.",
    ),
    Template(
        Stage.ADVOCACY,
        EMAIL,
        subjects=("Just wanted to say thanks", "You're the best", "Happy customer"),
        openings=(
            "Just a note to say the {coffee} is the best coffee I've had in years. I've told "
            "all my friends about you.",
            "Thank you! I keep recommending you to everyone at work.",
            "No question, just a thank-you: your team was so helpful last month.",
        ),
        reply="That made our day, thank you! Would you mind if we quoted you on our website?",
        answer="Of course, go ahead.",
        resolution="Thank you! A little something is coming with your next order.",
        correction="a happy customer recommending us, not a problem",
        weight=1,
    ),
)
