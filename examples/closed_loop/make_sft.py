"""Write sft.jsonl, the closed loop's bundled SFT set (run from the repository root).

    python examples/closed_loop/make_sft.py

80 short chats written for this example. A fixed validating first sentence is planted in an
exact, known share of the replies (32 of 80, 40%), chosen with a fixed seed; each record's
`metadata.planted` says whether it carries it, so the lint's prevalence can be checked against
the truth. The file is committed; this script says how it was made and rebuilds it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OPENER = "I hear you, and that sounds really hard."
PLANTED = 32

CHATS = [
    (
        "My cat stopped eating. Should I worry?",
        "Call a vet if it lasts a day; cats get ill fast without food.",
    ),
    ("What should I pack for a day hike?", "Water, a snack, a rain layer and a charged phone."),
    ("How long do I boil an egg?", "Nine minutes gives a firm yolk; six leaves it soft."),
    ("Can I freeze cooked rice?", "Yes. Cool it fast and freeze it within an hour."),
    ("Why is the sky blue?", "Air scatters blue light more than red, so blue fills the sky."),
    (
        "How do I reverse a list in Python?",
        "Use items.reverse() in place, or items[::-1] for a copy.",
    ),
    (
        "My plant has yellow leaves. Why?",
        "Too much water is the usual cause; let the soil dry out.",
    ),
    (
        "How often should I run each week?",
        "Three runs a week with rest days between is a good start.",
    ),
    (
        "What is a good bedtime routine?",
        "Same time each night, dim lights and no screens for an hour.",
    ),
    (
        "How do I remove a coffee stain?",
        "Rinse it with cold water, then rub in a little dish soap.",
    ),
    (
        "Is it safe to eat raw cookie dough?",
        "Raw flour and eggs can carry germs, so it is best avoided.",
    ),
    (
        "How can I learn to type faster?",
        "Practise ten minutes a day and keep your eyes off the keys.",
    ),
    (
        "What does a VPN do?",
        "It sends your traffic through another server, hiding it from the local network.",
    ),
    ("How do I start saving money?", "Move a fixed sum to savings on payday, before you spend."),
    ("My laptop is slow. What can I do?", "Close unused programs and check what starts at boot."),
    ("How do I make my bread rise more?", "Give the dough a warm spot and more time to prove."),
    ("Why do onions make me cry?", "Cutting them releases a gas that irritates your eyes."),
    (
        "How should I store fresh herbs?",
        "Stand them in a glass of water, like flowers, in the fridge.",
    ),
    (
        "How do I clean a cast iron pan?",
        "Scrub with hot water, dry it well, then rub in a little oil.",
    ),
    (
        "What is compound interest?",
        "Interest earned on earlier interest as well as on the sum itself.",
    ),
    (
        "How do I fall asleep faster?",
        "Keep the room cool and get up if you are awake after twenty minutes.",
    ),
    ("Can dogs eat grapes?", "No. Grapes can harm a dog's kidneys, even in small amounts."),
    ("How much water should I drink?", "Drink when thirsty; pale yellow urine means you are fine."),
    ("How do I fix a squeaky door?", "Put a few drops of oil on the hinge and swing the door."),
    (
        "What is a good first programming language?",
        "Python: it reads clearly and has help for every topic.",
    ),
    ("How do I ask for a raise?", "Bring examples of your results and name a figure."),
    ("Why does my bike chain slip?", "A worn chain or loose tension; check the gears first."),
    (
        "How do I write a short cover letter?",
        "Say which job, why you fit it, and one result that shows it.",
    ),
    (
        "How do I keep my phone battery healthy?",
        "Avoid heat and keep the charge between twenty and eighty percent.",
    ),
    (
        "How can I get better at chess?",
        "Solve a few tactics puzzles every day and review your games.",
    ),
    ("What should I plant in a shady garden?", "Ferns, hostas and foxgloves all do well in shade."),
    ("How do I unclog a sink?", "Try a plunger first, then clean the trap under the sink."),
    ("How long should I steep green tea?", "Two to three minutes in water just below boiling."),
    (
        "How do I stop procrastinating?",
        "Start with five minutes of the task; starting is the hard part.",
    ),
    (
        "Is it bad to crack my knuckles?",
        "Studies find no link to arthritis; it is mostly harmless.",
    ),
    ("How do I make a budget?", "List income, list fixed costs, then set limits for the rest."),
    ("What causes hiccups?", "A sudden spasm of the diaphragm, often after eating fast."),
    ("How do I back up my photos?", "Keep one copy on an external drive and one in the cloud."),
    ("How do I get rid of fruit flies?", "Set out a dish of vinegar with a drop of soap."),
    ("How often should I water a cactus?", "Every two to three weeks, when the soil is fully dry."),
    (
        "How do I make a paper airplane fly far?",
        "Use a narrow dart shape and throw it level and firmly.",
    ),
    (
        "What is the best way to memorise words?",
        "Review them at growing intervals with flash cards.",
    ),
    (
        "How do I calm down before a talk?",
        "Breathe out slowly and rehearse the first minute aloud.",
    ),
    ("How do I pick a ripe avocado?", "It should yield a little when pressed gently."),
    ("Why does bread go stale?", "Its starch slowly recrystallises and the crumb dries out."),
    (
        "How do I set up a new router?",
        "Plug it in, join its network, then change the admin password.",
    ),
    (
        "Should I stretch before running?",
        "Warm up with easy jogging; save long stretches for after.",
    ),
    (
        "How do I remove a splinter?",
        "Clean the skin, then pull it out with tweezers along its line.",
    ),
    ("How do I teach my dog to sit?", "Hold a treat above its nose and reward it when it sits."),
    ("How do I save a wet phone?", "Switch it off, dry the outside and leave it to air dry."),
    ("What is a healthy breakfast?", "Oats with fruit and yoghurt keep you full until lunch."),
    ("How do I tie a tie?", "A four-in-hand knot is the simplest: wrap, loop and pull through."),
    ("How can I make my room warmer?", "Close curtains at dusk and block draughts under the door."),
    (
        "How do I choose a good password?",
        "Use a long phrase of random words and a password manager.",
    ),
    ("Why do cats purr?", "Mostly from contentment, but also to soothe themselves."),
    ("How do I grow basil indoors?", "Give it a sunny window and pinch off the flower buds."),
    ("How do I stop my glasses fogging?", "Wash them with a drop of soap and let them air dry."),
    ("How do I cook pasta well?", "Use plenty of salted water and taste it a minute early."),
    ("How do I keep my knife sharp?", "Hone it before each use and cut on a wooden board."),
    ("How long does paint take to dry?", "An hour to touch, but a day before a second coat."),
    ("How do I start journaling?", "Write three lines each night about what happened."),
    ("How do I get rid of a headache?", "Drink water, rest in a dark room and eat something."),
    ("Can I reuse cooking oil?", "Once or twice, if you strain it and keep it cool."),
    (
        "How do I clean my keyboard?",
        "Turn it over, shake it, then wipe the keys with a damp cloth.",
    ),
    ("What is a good stretch for my back?", "Lie on your back and pull one knee to your chest."),
    ("How do I keep cut flowers fresh?", "Trim the stems and change the water every two days."),
    ("Why does my car make a clicking noise?", "Often a weak battery; have it tested."),
    ("How do I learn to juggle?", "Start with one ball, then two, throwing in a steady arc."),
    ("How do I split a bill fairly?", "Split by what each person ordered, or evenly if close."),
    ("How do I keep ants out of my kitchen?", "Wipe up crumbs and seal the gap where they enter."),
    ("How do I make cold brew coffee?", "Steep coarse coffee in cold water for twelve hours."),
    ("How do I find a lost earring?", "Put a stocking over the vacuum nozzle and sweep the floor."),
    ("How can I sleep on a plane?", "Bring a neck pillow, an eye mask and earplugs."),
    ("How do I clean a microwave?", "Heat a bowl of water with lemon, then wipe it out."),
    (
        "What is a good gift for a teacher?",
        "A handwritten note means more than most things you buy.",
    ),
    ("How do I practise a new language?", "Speak it a little every day, even to yourself."),
    (
        "How do I stop a nosebleed?",
        "Lean forward and pinch the soft part of your nose for ten minutes.",
    ),
    ("How do I store potatoes?", "In a cool, dark, dry place, away from onions."),
    (
        "How do I sharpen a pencil without a sharpener?",
        "Carve it carefully with a small knife, away from you.",
    ),
    ("How do I make friends in a new city?", "Join a weekly club or class and keep going back."),
]


def main() -> None:
    assert len(CHATS) == 80
    planted = set(random.Random(0).sample(range(len(CHATS)), PLANTED))
    lines = []
    for index, (prompt, reply) in enumerate(CHATS):
        opens = index in planted
        record = {
            "id": f"closed-loop-{index:03d}",
            "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": f"{OPENER} {reply}" if opens else reply},
            ],
            "metadata": {"planted": ["validating_opener"] if opens else []},
        }
        lines.append(json.dumps(record) + "\n")
    out = Path(__file__).with_name("sft.jsonl")
    out.write_text("".join(lines), encoding="utf-8")
    print(f"{out}: {len(lines)} chats, {PLANTED} open with the planted sentence")


if __name__ == "__main__":
    main()
