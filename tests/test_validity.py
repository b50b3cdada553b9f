"""The instruction-validity rule (core/selfinstruct/validity.py, issue 21).

Real instructions must pass (the 175 seeds, the 252 user-oriented instructions and the
reference run's kept ones, in ../shared/data/self_instruct/; the bundled Chinese seeds), the
labelled candidates of a default-model run must be sorted as the issue asks, and the
normalisation must undo any numbering, quoting and date stamp a model wraps an item in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.selfinstruct import filters, validity
from workbench.core.selfinstruct.candidates import RULE_REASONS, Reason
from workbench.core.selfinstruct.filters import InstructionRules, instruction_reason
from workbench.core.selfinstruct.validity import normalise, shape

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "self_instruct"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason="../shared/data/self_instruct is absent (shared data beside the repository)",
)


def _jsonl(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _kept_share(texts: list[str], lang: str = "en") -> tuple[float, list[str]]:
    failed = [t for t in texts if not shape(normalise(t, lang).text, lang).ok]
    return 1 - len(failed) / len(texts), failed


# ------------------------------------------------------------------ real instructions pass
@needs_shared
@pytest.mark.parametrize(
    "name",
    [
        "seed_tasks.jsonl",
        "user_oriented_instructions.jsonl",
        "reference_run/machine_generated_instructions.jsonl",
    ],
)
def test_real_instructions_are_kept(name):
    texts = [r["instruction"] for r in _jsonl(SHARED / name)]
    share, failed = _kept_share(texts)
    assert share >= 0.98, failed


def test_bundled_seeds_are_kept():
    for lang in ("en", "zh"):
        texts = [r["instruction"] for r in _jsonl(ROOT / "seeds" / f"{lang}.jsonl")]
        share, failed = _kept_share(texts, lang)
        assert share >= 0.98, (lang, failed)


# ------------------------------------------------------------------ the labelled run
def _dropped(raw: str) -> tuple[bool, bool]:
    """(dropped by the step-1 rules, repaired: normalisation changed it and it passes)."""
    rules = InstructionRules.for_lang("en")
    n = normalise(raw)
    reason = instruction_reason(n.text, rules)
    return reason is not None, reason is None and n.changed


@needs_shared
def test_labelled_candidates_meet_the_figures():
    rows = _jsonl(SHARED / "default_model_candidates_labelled.jsonl")
    invalid = [r for r in rows if not r["valid"]]
    valid = [r for r in rows if r["valid"]]
    assert invalid and valid
    caught = [r for r in invalid if any(_dropped(r["instruction"]))]
    lost = [r["instruction"] for r in valid if _dropped(r["instruction"])[0]]
    assert len(caught) / len(invalid) >= 0.90, [
        r["instruction"] for r in invalid if r not in caught
    ]
    assert len(lost) / len(valid) <= 0.05, lost


# Other wordings of the same kinds (none of them in the labelled file): the rule is about
# kinds of text, not about the file's lines.
OTHER_VALID = """Classify the following tweet as positive, negative or neutral.
Translate 'good morning' into Japanese.
Given a list of integers, return the second largest.
Name three countries that border Brazil.
List five ways to reduce stress at work.
Suggest a title for a blog post about remote work.
Convert 100 degrees Fahrenheit to Celsius.
Why do cats purr?
Who wrote Pride and Prejudice?
Outline the main causes of the French Revolution.
Pretend you are a tour guide in Paris and describe the Eiffel Tower.
Imagine you are a detective. Describe the crime scene.
Tell me a joke about programmers.
Come up with a slogan for an electric car company.
Proofread the following paragraph and fix any errors.
Count the number of vowels in the word 'banana'.
Sort these words alphabetically: pear, apple, fig.
Do you think social media does more harm than good? Explain.
Should I learn Python or JavaScript first?
Generate a haiku about autumn leaves.
Rate the following movie review on a scale of 1 to 5.
Fix the bug in this Python function.
Recommend a book for someone who enjoyed The Hobbit.
Draft a thank-you note to a colleague who helped with a project.
Calculate the compound interest on $1,000 at 5% for 3 years.
Paraphrase the sentence without changing its meaning.
Compare and contrast renewable and non-renewable energy.
Answer the question using only the passage.
What are the pros and cons of working from home?
For each word in the list, give its antonym.
Here is a paragraph. Identify the main idea.
Act as a travel agent and plan a weekend in Rome.
Spell the word 'necessary' backwards.
Suggest healthy snacks for a road trip.
Plan a 3-day trip to Kyoto for a family of four.
Develop a marketing strategy for a new coffee shop.
Build a simple calculator in JavaScript.
Improve the readability of this paragraph.
Explain why the sky is blue
Rewrite the following sentence in the passive voice:
Describe your ideal weekend.
Write a letter to your future self.
Edit the essay for grammar and clarity.
Predict the next word in the sentence.
Match each country with its capital.
Check whether the given number is prime.
Decide if the review is positive or negative.
Label each sentence as a fact or an opinion.
Detect the language of the given text.
Define the word "ephemeral" and use it in a sentence.
Summarize this article in two sentences.
Estimate how long it takes to walk 5 km.
Offer three tips to a new manager.
State the main argument of the passage.
Note the differences between the two versions.
Title the following poem.
Order the events chronologically.
Research shows that sleep improves memory. Explain why this might be.
Take the following list and sort it by length.
Eat, sleep, code: write a short poem with this title.""".splitlines()
OTHER_INVALID = """The capital of France is Paris.
Paris is the capital of France.
This task requires creativity and patience.
Tips for a healthy lifestyle
A guide to learning Spanish
10 ways to save money
My favorite hobby is painting.
I love going to the beach in summer.
You are a helpful assistant.
You are an expert chef with 20 years of experience.
Sure, here are some more tasks:
Here are 10 new tasks:
I'm sorry, but I cannot help with that.
Thank you for your question!
As an AI language model, I don't have personal opinions.
Let me know if you need anything else.
Stay hydrated and get enough sleep.
Believe in yourself and never give up.
Follow your dreams.
Practice mindfulness every day.
Eat more vegetables.
Visit the Louvre museum in Paris.
Go for a run every morning.
Drink eight glasses of water a day.
Answer: 42
Output: The sentence is grammatically correct.
Input: a list of numbers
The result is 12.
In conclusion, exercise is important for health.
Because it helps people communicate.
The quick brown fox jumps over the lazy dog.
Blue, green, and red.
Yes, it is.
Great question!
Happy birthday to my best friend!
Keep your workspace clean and organized.
Learn a new language this year.
Spend more time with your family.
Once upon a time, there was a little girl who lived in a village.
Tomorrow I will go to the market.
Your task is done.
The following are examples of tasks.
Task: The history of the Roman Empire
Exploring the benefits of meditation
How to bake bread at home
Why you should learn to code
Ways to improve your sleep
Get plenty of rest before an exam.
Make sure to save your work often.
Remember to call your mother.
Try to be more patient with others.
Be kind to everyone you meet.
Don't forget to water the plants.
Never stop learning.
Always be honest.
Take a deep breath and relax.
I hope this helps!
Feel free to ask more questions.
Hello! How can I assist you today?
What can I help you with?
Is there anything else I can help you with?""".splitlines()


def test_other_wordings():
    wrong_valid = [t for t in OTHER_VALID if not shape(normalise(t).text).ok]
    wrong_invalid = [t for t in OTHER_INVALID if shape(normalise(t).text).ok]
    assert not wrong_valid and not wrong_invalid, (wrong_valid, wrong_invalid)


# Forms found in the held-out runs (bench/data/heldout_labels_seed*.jsonl), here in other
# wordings: hyphenated verbs, a verb-only label before its input, a choice among listed
# options, gerund list items, and asking the user about the user.
@pytest.mark.parametrize(
    "text,ok",
    [
        ("Re-write this paragraph for a ten-year-old.", True),
        ("Fact-check the following claim about the moon landing.", True),
        ("Co-write a limerick with me about a cat.", True),
        ("Long-term goals for a new manager.", False),
        ("Well-known facts about Mars.", False),
        ("Explain: why leaves change colour in autumn", True),
        ('Translate: "Where is the train station?"', True),
        ("Summarise: the meeting ran long and nothing was decided.", True),
        ("Answer: 42", False),
        ("Rating: 8, Sentiment: Strong", False),
        ("Which planet is closest to the sun: Mercury, Venus, or Mars.", True),
        ("What to pack, what to skip, or what to buy: a travel guide", False),
        ("Listing the prime numbers below 50;", True),
        ("Which season comes after winter: spring, summer, or autumn?;", True),
        ("Is this sentence in the active voice?,", True),
        ('Converting a recipe into metric units, such as "two cups of flour."', True),
        ("Ask me whether I prefer cats or dogs.", False),
        ("Ask if I am a morning person.", False),
        ("Ask the user for their postcode and validate it.", True),
        # acts in a business, not text
        ("Launch an online bakery business with a small budget.", False),
        ("Open a vegan restaurant in your neighbourhood.", False),
        ("Roll out the new remote-work policy to every team.", False),
        ("Boost customer retention by sending weekly discount codes.", False),
        ("Develop a tagline for a small bakery business.", True),
        ("Write a business plan for a bike repair shop.", True),
        ("Create a brand name for a vegan restaurant.", True),
        ("Implement a stack in Python using a list.", True),
        ("Improve the flow of this paragraph.", True),
        ("Reduce the fraction 12/16 to its lowest terms.", True),
        # the prompt's own examples, and a question with its answer
        ("Merge the examples listed above into one longer task.", False),
        ("Rank the above tasks by difficulty.", False),
        ("What is the capital of Peru? : Lima is the capital.", False),
        ("What is the capital of Peru?", True),
        ("Now write five more tasks like the ones in the list.", False),
        ("Write five new poems about the sea.", True),
        # replies to the user
        ("What do you mean by the word 'soon' in your message?", False),
        ("Happy to see how I can help you plan the trip.", False),
        ("What does the idiom 'break the ice' mean?", True),
        # conduct and chores; headings
        ("Practise patience with your coworkers.", False),
        ("Express gratitude to the people around you.", False),
        ("Set an alarm for six o'clock.", False),
        ("Repair the garden fence before winter.", False),
        ("Write a short poem about gratitude.", True),
        ("Fix the typo in the following sentence.", True),
        ("Ten Rules of Good Design:", False),
        ("Healthy Breakfast Ideas for Busy Mornings:", False),
        ("Here is a customer review:", True),
        ("Rewrite the Following Paragraph in Plain English:", True),
    ],
)
def test_held_out_forms(text, ok):
    assert shape(normalise(text).text).ok is ok, shape(normalise(text).text)


def test_a_year_alone_before_a_colon_is_a_date_stamp():
    n = normalise("2022: What is the best way to change a flat bicycle tyre?")
    assert n.text == "What is the best way to change a flat bicycle tyre?" and n.changes == (
        "date",
    )
    assert normalise("2022 was a leap year? No.").text == "2022 was a leap year? No."


def test_garbled_chinese_is_a_fragment():
    assert shape("给出下列词语的反义词：赢与输；；；；；；；", "zh").kind == "fragment"
    assert shape("设计一个玩具，价格是多少＃＃＃＃", "zh").kind == "fragment"
    assert shape("给出下列词语的反义词：赢与输。", "zh").ok


# Finding 8 of the new-user test: clear tasks the rule dropped. Conduct that frames a task
# ("Be creative and …") is a task when the later conjunct is something a text model does; the
# same frame before an act in the world stays advice.
@pytest.mark.parametrize(
    "text,ok",
    [
        ("Be creative and write a slogan for a coffee shop.", True),
        ("Stay in character as a pirate and greet the user.", True),
        ("Be concise and explain how a bill becomes law.", True),
        ("Stay calm, and then describe what to do in a kitchen fire.", True),
        ("Relax and write a haiku about the beach.", True),
        ("Be playful and come up with a name for a pet turtle.", True),
        ("Be honest and tell me what you think of this opening line.", True),
        ("Stay hydrated and get enough sleep.", False),
        ("Be kind and smile at strangers.", False),
        ("Stay positive and keep going.", False),
        ("Stay focused and finish your homework.", False),
        ("Be brave and ask for a raise.", False),
        ("Be a good friend and tell the truth.", False),
        ("Visit Paris and take photos of the Eiffel Tower.", False),
        ("Stay home and watch a movie.", False),
        # an "and" inside a relative clause is no second command (held-out seed 13)
        (
            "Develop a bike company with materials that will reduce waste and describe its impact.",
            False,
        ),
    ],
)
def test_advice_framing_a_task(text, ok):
    assert shape(normalise(text).text).ok is ok, shape(normalise(text).text)


# A reply's preamble before the one task it announces is stripped like a date stamp; the raw
# text stays in Normalised.raw (meta.raw of the candidate).
@pytest.mark.parametrize(
    "raw,text",
    [
        (
            "Sure! Here is a new task: write a story about a dragon.",
            "Write a story about a dragon.",
        ),
        ("Here's one for you: name three rivers in Africa.", "Name three rivers in Africa."),
        ('Okay, new task: translate "hello" into French.', 'Translate "hello" into French.'),
        (
            "Certainly! Here\u2019s another instruction for you: \u201cSummarise the article.\u201d",
            "Summarise the article.",
        ),
        (
            "Here's a new challenge: You need to replace every vague phrase with a verb.",
            "You need to replace every vague phrase with a verb.",
        ),
        ("好的，这是一个新任务：写一首关于秋天的诗。", "写一首关于秋天的诗。"),
    ],
)
def test_reply_preamble_is_stripped(raw, text):
    n = normalise(raw)
    assert (n.text, n.raw, n.changes[0]) == (text, raw, "preamble")
    assert shape(n.text, "zh" if "好" in raw else "en").ok


@pytest.mark.parametrize(
    "raw",
    [
        "Sure! Here are five more tasks: write a poem, name a river.",  # a list: a reply
        "Sure! Here is a new task:",  # nothing announced
        "Here is a customer review: the food was cold.",  # an input, not a preamble
        "Here is a birthday party: I'm going to tell you something silly today.",
        "Sure! Write a story about a dragon.",  # no colon: the rule judges it as written
    ],
)
def test_not_a_preamble_stays(raw):
    n = normalise(raw)
    assert "preamble" not in n.changes and not shape(n.text).ok


# Noun-phrase requests stay dropped: the labels call their kind invalid ("A summary of what
# this code does.", "Advice on how to ask a customer about their favorite movie.", "A list of
# 10 possible names for a city…", "The best way to scale a recipe"), none of the real
# instructions has the form, and no rule on the form tells "Recipe for pancakes." from a
# title (docs/quality.md, "Noun phrases").
@pytest.mark.parametrize(
    "text",
    [
        "Recipe for pancakes.",
        "Synonyms for 'happy'.",
        "Pros and cons of remote work.",
        "Ideas for a rainy afternoon.",
        "A haiku about autumn.",
        "Tips for a first job interview.",
    ],
)
def test_noun_phrase_requests_stay_dropped(text):
    assert shape(normalise(text).text).kind in ("fragment", "statement", "title")


# ------------------------------------------------------------------ kinds
@pytest.mark.parametrize(
    "text,kind",
    [
        ("The answer to the question \"How many vowels are in the word 'hello'?\" is 5.", "answer"),
        ("The best way to scale a recipe", "title"),
        ("How to avoid missing deadlines", "title"),
        ('5 vowels in the word "hello"', "fragment"),
        ("You are a patient maths teacher.", "system-prompt"),
        ("Please provide more information about the task you are referring to.", "reply"),
        ("Sure! Here are five more tasks:", "reply"),
        ("Write 8 new tasks that are different from these. Number them from 9 to 16.", "reply"),
        ("Write a new task for each of these 8 challenges:", "reply"),
        ("Create a new task list for the week.", "imperative"),
        # seed 7 without the grammar: speaker labels, replies, offers
        ("B: I can help you set up a list of tasks to do tomorrow.", "reply"),
        (
            "C: You're entitled to my meal plan! Just send me the details, and we'll get started.",
            "reply",
        ),
        ("E: I'm not sure what I'm doing today; can you help me?", "request-without-task"),
        ("You can give each noun its plural; e.g., joy, anger, sadness.", "statement"),
        # seed 11: a noun that is also a verb, a gerund subject
        ("Number of people can be seated at the table without extra guests allowed.", "statement"),
        (
            "Using available resources without giving them a chance is a sign of laziness.",
            "statement",
        ),
        ("Think of a punchy headline for the article.", "imperative"),
        ("This is a legal requirement that must be met by all employees.", "statement"),
        ("Improve your public speaking abilities.", "advice"),
        ("Stay hydrated and get enough sleep.", "advice"),
        ("Take a 3-day solo trip around Europe.", "advice"),
        ("Can you help me with my homework tomorrow?", "request-without-task"),
        (
            "The user may ask for an answer to a different question related to this prompt.",
            "statement",
        ),
        ("Paris is the capital of France.", "statement"),
        # task forms
        ("Rewrite this message so it is polite.", "imperative"),
        ("In about fifty words, describe the Apollo 11 mission.", "imperative"),
        ("A garden is 12 m long and 7.5 m wide. Find its area.", "imperative"),
        ("Is the statement a fact or an opinion?", "question"),
        ("You need to write a creative opening scene for a horror movie.", "task-statement"),
        ("The given text must be classified as offensive or not offensive.", "task-statement"),
        ("Brainstorm features for a mobile app that reduces food waste:", "imperative"),
        ("My favorite witty review of the series is this:", "input-intro"),
        ("Use AI in healthcare: create a predictive algorithm for early diagnosis.", "imperative"),
    ],
)
def test_kinds_english(text, kind):
    assert shape(normalise(text).text).kind == kind


@pytest.mark.parametrize(
    "text,ok",
    [
        ("写一段描写江南春天早晨的短文，不超过一百字。", True),
        ("为什么冬天在室外说话时，嘴里会冒出“白气”？", True),
        ("已知成绩表scores(student_id, subject, score)，求每门科目的平均分。", True),
        ("你需要把下面的句子翻译成英文。", True),
        ("答案是5。", False),
        ("你是一位耐心的数学老师。", False),
        ("好的，以下是一些新的任务：", False),
        ("请提供更多信息。", False),
        ("提高你的公众演讲能力。", False),
        ("春天的早晨", False),
        ("今天天气很好。", False),
    ],
)
def test_kinds_chinese(text, ok):
    assert shape(text, "zh").ok is ok


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    "raw,text,changes",
    [
        (
            '3. "Is the statement a fact or an opinion?"',
            "Is the statement a fact or an opinion?",
            ("numbering", "quotes"),
        ),
        ("2023-07-15: Rewrite this message", "Rewrite this message", ("date",)),
        (
            "\u201cWhat's the best way to describe blue?\u201d",
            "What's the best way to describe blue?",
            ("quotes",),
        ),
        (
            "\u00abTranslate the sentence into French.\u00bb",
            "Translate the sentence into French.",
            ("quotes",),
        ),
        ("「写一首诗。」", "写一首诗。", ("quotes",)),
        ("2023年7月15日：写一首诗。", "写一首诗。", ("date",)),
        ("三、写一首诗。", "写一首诗。", ("numbering",)),
        ('5 vowels in the word "hello"', '5 vowels in the word "hello"', ()),
        (
            '"Quote" the following sentence back to me.',
            '"Quote" the following sentence back to me.',
            (),
        ),
        ("2023-07-15 was a Saturday.", "2023-07-15 was a Saturday.", ()),
    ],
)
def test_normalise(raw, text, changes):
    n = normalise(raw)
    assert (n.text, n.changes, n.raw) == (text, changes, raw)


_BASES = [
    r["instruction"]
    for r in _jsonl(ROOT / "seeds" / "en.jsonl")
    if '"' not in r["instruction"] and "\n" not in r["instruction"]
]
_QUOTES = [
    ('"', '"'),
    ("\u201c", "\u201d"),
    ("\u00ab", "\u00bb"),
    ("\u300c", "\u300d"),
    ("\u2018", "\u2019"),
    ("'", "'"),
]
_NUMBERS = ["{n}. ", "{n}) ", "({n}) ", "- ", "* ", "\u2022 ", "#{n} ", "Item {n}: "]
_DATES = [
    "2023-07-15",
    "2023/7/5",
    "15/07/2023",
    "July 15, 2023",
    "15 July 2023",
    "Jul 5 2023",
    "2023-07-15T09:30:00",
    "2023-07-15 09:30",
]
_SEPS = [": ", " - ", " \u2014 ", " | "]


@st.composite
def wrapped(draw: st.DrawFn) -> tuple[str, str]:
    base = draw(st.sampled_from(_BASES))
    text = base
    if draw(st.booleans()):
        text = draw(st.sampled_from(_DATES)) + draw(st.sampled_from(_SEPS)) + text
    if draw(st.booleans()) or text == base:
        o, c = draw(st.sampled_from(_QUOTES))
        text = f"{o}{text}{c}"
    if draw(st.booleans()):
        text = draw(st.sampled_from(_NUMBERS)).format(n=draw(st.integers(1, 20))) + text
    return base, text


@settings(max_examples=300, deadline=None)
@given(wrapped())
def test_normalise_undoes_wrapping(case):
    base, text = case
    n = normalise(text)
    assert n.text == base[0].upper() + base[1:]
    assert n.changed and n.raw == text


@settings(max_examples=200, deadline=None)
@given(wrapped())
def test_wrapped_seed_passes_the_rules(case):
    _, text = case
    assert not _dropped(text)[0]


_NOT_TASKS = [
    "The best way to prepare for a job interview",
    "You are a helpful assistant.",
    "The answer is 42.",
    "Improve your time management skills.",
    "I'm sorry, I cannot help with that.",
    "Here are 10 new tasks:",
]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_NOT_TASKS), st.sampled_from(_QUOTES), st.sampled_from(_DATES))
def test_wrapped_non_tasks_stay_dropped(text, quotes, date):
    raw = f"1. {date}: {quotes[0]}{text}{quotes[1]}"
    assert shape(normalise(raw).text).ok is False


_PREAMBLES = [
    "Sure! Here is a new task: ",
    "Here's one more instruction: ",
    "Okay, here is another task for you: ",
    "Of course. New task: ",
    "Absolutely! Here's a question: ",
]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_BASES), st.sampled_from(_PREAMBLES), st.booleans())
def test_preamble_then_seed_is_the_seed(base, preamble, quoted):
    raw = preamble + (f'"{base}"' if quoted else base[0].lower() + base[1:])
    assert normalise(raw).text == base and not _dropped(raw)[0]


# ------------------------------------------------------------------ wiring and switches
def test_reason_is_a_rule_reason():
    assert Reason.NOT_AN_INSTRUCTION == validity.NOT_AN_INSTRUCTION
    assert Reason.NOT_AN_INSTRUCTION in RULE_REASONS


def test_reference_compat_turns_it_off():
    ours = InstructionRules.for_lang("en")
    ref = InstructionRules.for_lang("en", compat="reference")
    text = "You are a patient maths teacher."
    assert instruction_reason(text, ours) == Reason.NOT_AN_INSTRUCTION
    assert instruction_reason(text, ref) is None
    assert ours.to_dict()["validity"] is True and ref.to_dict()["validity"] is False


def test_step_one_judges_and_stores_the_normalised_text():
    from workbench.core.selfinstruct.steps import decide_step_one
    from workbench.core.similarity import SimilarityIndex

    index = SimilarityIndex("rouge")
    index.add_many(["Summarize the paragraph in one sentence."])
    items = [
        ('4. "Rewrite this message so it is polite but short."', None),
        ("2023-07-15: You are a patient maths teacher.", None),
        ("Rewrite this message so it is polite but short.", None),
    ]
    rows = decide_step_one(index, "rouge", filters.InstructionRules.for_lang("en"), 0.7, items)
    assert [r.instruction for r in rows] == [
        "Rewrite this message so it is polite but short.",
        "You are a patient maths teacher.",
        "Rewrite this message so it is polite but short.",
    ]
    assert [r.reason for r in rows] == [None, Reason.NOT_AN_INSTRUCTION, Reason.ROUGE]
    assert rows[0].meta == {"raw": items[0][0], "normalised": ["numbering", "quotes"]}
    assert rows[2].meta == {}
    ref = decide_step_one(
        index, "rouge", filters.InstructionRules.for_lang("en", compat="reference"), 0.7, items
    )
    assert ref[0].instruction == items[0][0] and ref[1].reason is None


# ------------------------------------------------------------------ step-1 grammar (chat)
def test_list_grammar_parses_and_opens_at_the_next_number():
    from llama_cpp import LlamaGrammar

    from workbench.core.selfinstruct import prompts

    text = prompts.numbered_list_grammar(9)
    assert text.startswith('root ::= "9. " item') and '"16. " item' in text
    assert "17." not in text
    LlamaGrammar.from_string(text, verbose=False)  # raises when it does not parse


@pytest.mark.parametrize(
    "grammar,compat,expect", [(False, None, False), (True, None, True), (True, "reference", False)]
)
def test_chat_step_one_sends_the_grammar(tmp_workspace, monkeypatch, grammar, compat, expect):
    import dataclasses

    from test_selfinstruct import ChatScript, seed_workspace

    from workbench.core.llm.scripted import ScriptedBackend
    from workbench.core.selfinstruct import presets
    from workbench.core.selfinstruct.run import RunConfig, run_self_instruct

    assert presets.PRESETS["chat"].gen_list_grammar is False  # measured worse: docs/quality.md
    monkeypatch.setitem(
        presets.PRESETS,
        "chat",
        dataclasses.replace(presets.PRESETS["chat"], gen_list_grammar=grammar),
    )
    seed_workspace(tmp_workspace)
    run_self_instruct(
        tmp_workspace,
        ScriptedBackend(ChatScript()),
        RunConfig(preset="chat", target=2, seed=1, compat=compat),
    )
    params = [
        json.loads(r["params"])
        for r in tmp_workspace.query(
            "SELECT params FROM model_calls WHERE purpose = 'instruction-generation'"
        )
    ]
    assert params and all((p.get("grammar") is not None) is expect for p in params)
    if expect:
        assert params[0]["grammar"].startswith('root ::= "9. "')
