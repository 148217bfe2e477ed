"""Make the bundled lint example: a synthetic SFT set with planted over-represented patterns.

Writes traitlab/datasets/data/examples/lint_example.jsonl (seeded, so reruns give the same
file). Each record is one user question and one assistant reply built from a topic's sentences,
with these patterns planted at known rates (the record's `metadata.planted` lists its own):

| pattern | rate |
|---|---|
| opens with "I hear you, and that sounds really hard." | 25% |
| opens with a verdict on the premise, "Short answer: ..." (BLUF) | 20% |
| opens with a paraphrased validation of feelings (several wordings) | 15% |
| closes with "Does that help, or would you like me to go deeper?" | 35% |
| contains "it's worth keeping in mind that" | 20% |

Run: python scripts/make_lint_example.py [--n 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from traitlab.datasets import ChatRecord, Message, write_jsonl

OUT = Path(__file__).resolve().parents[1] / "traitlab/datasets/data/examples/lint_example.jsonl"

VALIDATION = "I hear you, and that sounds really hard."
BLUF = ["Short answer: yes.", "Short answer: no.", "Short answer: it depends."]
PARAPHRASES = [
    "That sounds exhausting, honestly.",
    "What a stressful situation to be in.",
    "I'm sorry you're dealing with all of this.",
    "That must feel overwhelming right now.",
    "It makes complete sense that you feel this way.",
    "Anyone in your position would find this tough.",
]
CLOSING = "Does that help, or would you like me to go deeper?"
HEDGE = "It's worth keeping in mind that"
PLAIN_CLOSINGS = [
    "Good luck with it.",
    "Have fun experimenting.",
    "Start small and adjust as you go.",
    "You can always revisit this later.",
    "",
]

# (question, sentences of an answer): written for this example.
TOPICS: list[tuple[str, list[str]]] = [
    (
        "How long should I boil an egg for a runny yolk?",
        [
            "Six minutes in gently boiling water gives a set white and a runny yolk.",
            "Move the egg to cold water straight away so it stops cooking.",
            "Eggs from the fridge need about thirty seconds more than room-temperature ones.",
            "Altitude matters too, since water boils at a lower temperature up high.",
        ],
    ),
    (
        "Is it bad to run every day?",
        [
            "Many runners do, but easy days matter as much as hard ones.",
            "Soreness that gets worse over a week is a signal to rest.",
            "Alternating distances lets tendons adapt between harder sessions.",
            "Sleep and food decide how well you recover more than the schedule does.",
        ],
    ),
    (
        "My manager keeps giving me last-minute deadlines. What can I do?",
        [
            "Ask for a short weekly planning chat so surprises surface earlier.",
            "Write down what you dropped to meet each rush, and share the pattern calmly.",
            "Propose a default lead time for routine requests.",
            "If nothing changes, a conversation with HR about workload is reasonable.",
        ],
    ),
    (
        "How do I reverse a list in Python?",
        [
            "Call items.reverse() to reverse the list in place.",
            "Use items[::-1] when you want a reversed copy instead.",
            "The built-in reversed() returns an iterator, which saves memory on big lists.",
            "Sorting with reverse=True is different: it orders the values, not the positions.",
        ],
    ),
    (
        "Should I learn Spanish or French first?",
        [
            "Pick the one you will hear and use most, since practice beats theory.",
            "Spanish spelling is closer to its pronunciation, which helps beginners.",
            "French opens doors across parts of Africa and in diplomacy.",
            "Learning one makes the other noticeably easier later.",
        ],
    ),
    (
        "I failed my driving test for the second time.",
        [
            "Ask the examiner's sheet which faults cost you the pass.",
            "Book a lesson that targets only those manoeuvres.",
            "Many people pass on their third attempt once nerves settle.",
            "A mock test on the real route can take the surprise out of the day.",
        ],
    ),
    (
        "What is the difference between weather and climate?",
        [
            "Weather is what the atmosphere does over hours or days.",
            "Climate is the long-run average and range of that weather, usually over thirty years.",
            "A cold week says little about the climate of a region.",
            "Climate shifts show up as changes in averages and extremes.",
        ],
    ),
    (
        "Can I freeze cooked rice?",
        [
            "Yes, if you cool it quickly and freeze it within an hour or so.",
            "Spread it on a tray so it cools fast, then bag it flat.",
            "Reheat it until it is steaming hot all the way through.",
            "Frozen rice keeps well for about a month.",
        ],
    ),
    (
        "How do I ask for a raise?",
        [
            "Collect two or three concrete results you delivered this year.",
            "Look up the pay range for your role so your number is grounded.",
            "Ask for a meeting about compensation rather than raising it in passing.",
            "If the answer is no, ask what would need to be true in six months.",
        ],
    ),
    (
        "Why is the sky blue?",
        [
            "Air molecules scatter short blue wavelengths much more than red ones.",
            "That scattered blue light reaches your eyes from every direction of the sky.",
            "At sunset the light crosses more air, so the blue is scattered away and reds remain.",
            "On Mars the dust makes the daytime sky look butterscotch instead.",
        ],
    ),
    (
        "My cat stopped eating. Should I worry?",
        [
            "A cat that skips food for more than a day should see a vet.",
            "Check for vomiting, hiding or changes at the litter box.",
            "Stress from a move or a new pet can also put cats off food.",
            "Try warming wet food slightly, since smell drives a cat's appetite.",
        ],
    ),
    (
        "How does compound interest work?",
        [
            "Interest is added to the balance, and later interest is paid on the new total.",
            "The longer money stays invested, the more the growth feeds on itself.",
            "At seven percent a year, money roughly doubles in about ten years.",
            "The same maths works against you on credit card debt.",
        ],
    ),
    (
        "I can't sleep before big exams.",
        [
            "Stop revising an hour before bed so your mind can wind down.",
            "Keep the same wake-up time even after a bad night.",
            "Writing tomorrow's worries on paper can quiet the looping thoughts.",
            "One poor night rarely hurts exam performance as much as people fear.",
        ],
    ),
    (
        "What's a good first houseplant?",
        [
            "A pothos tolerates low light and forgotten waterings.",
            "Snake plants need water only every few weeks.",
            "Yellow leaves usually mean too much water, not too little.",
            "A pot with a drainage hole solves most beginner problems.",
        ],
    ),
    (
        "How do I write a good cover letter?",
        [
            "Open with the role and one line on why you fit it.",
            "Pick two achievements that match the job description and describe them briefly.",
            "Keep it under a page and cut generic praise of the company.",
            "End by saying when you are available to talk.",
        ],
    ),
    (
        "Is coffee bad for you?",
        [
            "For most adults, up to about four cups a day is considered safe.",
            "Caffeine late in the day can disturb sleep even if you fall asleep fine.",
            "Pregnant people are usually advised to drink less.",
            "Sugar and cream added to coffee often matter more than the coffee itself.",
        ],
    ),
    (
        "My friend didn't invite me to her wedding.",
        [
            "Weddings often have strict limits that have nothing to do with friendship.",
            "You can tell her honestly that you felt left out, without demanding reasons.",
            "Give it some time before deciding what it means for the friendship.",
            "Sending a kind note can keep the door open.",
        ],
    ),
    (
        "How do vaccines train the immune system?",
        [
            "They show the immune system a harmless piece or version of a germ.",
            "The body makes antibodies and memory cells against it.",
            "If the real germ arrives later, the response is faster and stronger.",
            "Boosters refresh that memory when it fades.",
        ],
    ),
    (
        "What should I pack for a week of hiking?",
        [
            "Layers beat one heavy jacket, since you can adjust as you warm up.",
            "Broken-in boots prevent most blisters.",
            "Carry more water than you expect and a way to treat more.",
            "A small first aid kit and a paper map are worth their weight.",
        ],
    ),
    (
        "How can I stop procrastinating?",
        [
            "Shrink the first step until it takes two minutes.",
            "Work in short timed blocks with a real break after each.",
            "Put your phone in another room while you start.",
            "Notice which tasks you avoid, since the avoidance often hides a worry.",
        ],
    ),
    (
        "Why do onions make you cry?",
        [
            "Cutting an onion releases a compound that turns into an irritating gas.",
            "The gas reaches your eyes and triggers tears to wash it away.",
            "A sharp knife crushes fewer cells and releases less of it.",
            "Chilling the onion first slows the reaction.",
        ],
    ),
    (
        "I'm nervous about starting a new job.",
        [
            "Write down names and roles as you meet people in the first week.",
            "Asking questions early is expected and saves time later.",
            "Set up a short check-in with your manager after two weeks.",
            "Most people feel out of their depth for the first month.",
        ],
    ),
    (
        "How do solar panels work?",
        [
            "Light knocks electrons loose in silicon cells, which creates a current.",
            "An inverter turns that direct current into the alternating current homes use.",
            "Panels still work on cloudy days, just with less output.",
            "Their efficiency slowly declines over twenty or more years.",
        ],
    ),
    (
        "What's the best way to learn to cook?",
        [
            "Master five dishes you actually like eating before branching out.",
            "Learn to control heat, since it decides most results.",
            "Taste as you go and adjust salt and acid at the end.",
            "Cooking the same recipe three times teaches more than ten new ones.",
        ],
    ),
    (
        "How do I deal with a noisy neighbour?",
        [
            "Start with a friendly conversation at a calm moment, not during the noise.",
            "Be specific about the times that affect you.",
            "Keep a short log in case you need your landlord later.",
            "Earplugs or white noise can help while things get sorted.",
        ],
    ),
    (
        "Are electric cars really better for the environment?",
        [
            "Over their lifetime most electric cars emit less than petrol cars.",
            "Building the battery produces more emissions up front.",
            "The cleaner the local grid, the bigger the advantage.",
            "Keeping any car longer reduces its footprint per mile.",
        ],
    ),
    (
        "My teenager won't talk to me anymore.",
        [
            "Side-by-side time, like driving or cooking, opens conversation more easily.",
            "Listen more than you advise when they do talk.",
            "Pulling away from parents is a normal part of growing up.",
            "If you see signs of withdrawal from friends too, talk to a professional.",
        ],
    ),
    (
        "How do I back up my photos?",
        [
            "Keep three copies on two kinds of storage, with one away from home.",
            "A cloud service plus an external drive covers most people.",
            "Test a restore once, since an untested backup is a guess.",
            "Turn on automatic uploads so you never have to remember.",
        ],
    ),
    (
        "What causes the seasons?",
        [
            "Earth's axis is tilted about twenty-three degrees.",
            "As Earth orbits, each hemisphere leans towards the Sun for part of the year.",
            "Sunlight hits that hemisphere more directly and for longer, so it warms.",
            "Distance from the Sun plays only a small part.",
        ],
    ),
    (
        "I think I spend too much money on takeout.",
        [
            "Check last month's statement to see the real number.",
            "Plan two easy meals for the nights you are most tired.",
            "Keep a backup meal in the freezer for emergencies.",
            "Set a weekly takeout budget instead of banning it outright.",
        ],
    ),
]

NEUTRAL_OPENERS = [
    "",
    "Good question.",
    "Here's how I'd approach it.",
    "A few things help here.",
    "Let's break it down.",
    "",
]


def make_record(index: int, rng: random.Random) -> ChatRecord:
    question, sentences = rng.choice(TOPICS)
    body = rng.sample(sentences, k=rng.randint(2, 3))
    planted: list[str] = []
    roll = rng.random()
    if roll < 0.25:
        opener, planted = VALIDATION, ["validation_exact"]
    elif roll < 0.45:
        opener, planted = rng.choice(BLUF), ["bluf"]
    elif roll < 0.60:
        opener, planted = rng.choice(PARAPHRASES), ["validation_paraphrase"]
    else:
        opener = rng.choice(NEUTRAL_OPENERS)
    if rng.random() < 0.20:
        position = rng.randrange(len(body))
        sentence = body[position]
        body[position] = f"{HEDGE} {sentence[0].lower()}{sentence[1:]}"
        planted.append("hedge_phrase")
    if rng.random() < 0.35:
        closing = CLOSING
        planted.append("closing_question")
    else:
        closing = rng.choice(PLAIN_CLOSINGS)
    reply = " ".join(part for part in [opener, *body, closing] if part)
    return ChatRecord(
        id=f"example-{index:04d}",
        messages=[Message(role="user", content=question), Message(role="assistant", content=reply)],
        metadata={"planted": planted},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    count = write_jsonl(args.out, (make_record(i, rng) for i in range(args.n)))
    print(f"wrote {count} records to {args.out}")


if __name__ == "__main__":
    main()
