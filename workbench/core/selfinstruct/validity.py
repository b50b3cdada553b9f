"""Is a candidate an instruction at all? Normalisation, then the instruction-shape rule.

Beyond the paper (docs/fidelity.md, docs/quality.md). Self-Instruct's people judged 92% of
GPT-3's generated instructions valid; a 135M chat model writes list numbers, quotes and date
stamps around its items, and many of its items are no instruction: statements and answers,
titles, fragments, system prompts ("You are a patient maths teacher."), replies addressed to
the user ("Please provide more information about the task you are referring to."), the
generation request echoed back ("Write 8 new tasks…"), advice to the reader ("Improve your
public speaking abilities."), and questions only the asker could answer. Two steps, applied
before the reference's rules (filters.instruction_reason) and the ROUGE-L rule:

1. `normalise(raw)` strips what surrounds an item — list numbering (`3.`, `(4)`, `-`, `五、`),
   a speaker or option label (`B:`), surrounding quotes (straight, curly, « », 「 」, 『 』,
   „ “), leading date stamps (`2023-07-15:`, `July 15, 2023 -`, `2023年7月15日：`, `2022:`)
   and a reply's preamble before the one task it announces (`Sure! Here is a new task:`,
   `Okay, new task:`, `好的，这是一个新任务：`) — repeatedly, since they nest (`3. "…"`). The
   candidate is judged, and becomes a task, as its normalised text; the raw text stays
   stored with the candidate.
2. `shape(text, lang)` says whether the text has the form of a task — an imperative
   ("Rewrite…", "Given X, list…", "Let's…"), a question ("Is it true that…?"), a task
   statement ("You need to…", "The email should be rewritten…", "I would appreciate it if you
   wrote…"), or text that introduces its input (ends with ':') — in at least one sentence or
   clause, and is none of the kinds above. Advice that frames a text task ("Be creative and
   write a slogan…", "Stay in character as a pirate and greet the user.") is a task.
   Noun-phrase requests ("Recipe for pancakes.") are not: the labels call their kind invalid
   and the form cannot tell them from titles (docs/quality.md). `shape_reason` maps that to
   the candidate reason "not-an-instruction" (None: it passes).

English uses lemminflect's lexicon to know whether a word can be a base-form verb (any English
verb, not a list of ours: "Brainstorm", "Summarise", "Craft" all qualify) — data in its wheel,
nothing downloaded at run time; the rest is structure: sentence and clause splitting with
quoted text masked, leading adverbials ("In about fifty words, describe…") skipped. Chinese
(runs with the `unicode` tokenizer) uses the same structure with Chinese markers: question
particles and words (吗, 什么, 如何, ？), a leading task verb or instruction opener (写, 列出,
请, 把, 为…), task statements (你需要, 你的任务是) and the Chinese forms of the rejected kinds
(你是一名…, 答案是…, 好的/抱歉…, 请提供更多信息).

`compat="reference"` runs skip both steps (the reference has neither).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

NOT_AN_INSTRUCTION = "not-an-instruction"
"""The candidate reason this rule gives (`candidates.Reason.NOT_AN_INSTRUCTION`)."""

# Kinds `shape` reports. Task forms (the text passes):
IMPERATIVE, QUESTION, TASK_STATEMENT, INPUT_INTRO = (
    "imperative",
    "question",
    "task-statement",
    "input-intro",
)
# Not an instruction:
STATEMENT, TITLE, FRAGMENT, SYSTEM_PROMPT, REPLY, ANSWER, ADVICE, NO_TASK_REQUEST, EMPTY = (
    "statement",
    "title",
    "fragment",
    "system-prompt",
    "reply",
    "answer",
    "advice",
    "request-without-task",
    "empty",
)
TASK_KINDS = frozenset({IMPERATIVE, QUESTION, TASK_STATEMENT, INPUT_INTRO})


# ================================================================== normalisation
@dataclass(frozen=True)
class Normalised:
    """`text`: what the rules judge; `raw`: the item as parsed; `changes`: what was stripped,
    in order ("numbering", "quotes", "date", "preamble")."""

    text: str
    raw: str
    changes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)


_QUOTE_PAIRS = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    "\u2018": "\u2019",
    "\u201e": "\u201c",
    "\u201a": "\u2018",
    "\u00ab": "\u00bb",
    "\u00bb": "\u00ab",
    "\u2039": "\u203a",
    "\u300c": "\u300d",
    "\u300e": "\u300f",
    "\uff02": "\uff02",
    "`": "`",
}
# A closing quote may also be the "wrong" curly one (models mix them): accept any closer.
_CLOSERS = set(_QUOTE_PAIRS.values()) | {"\u201d", "\u201c"}

# List numbering: "3.", "3)", "(3)", "#3", "3 -", "Item 3:", "- ", "* ", "• ", "a)", "iv.",
# "五、", "（三）". A bare number followed by a word ("5 vowels in…") is content, not numbering.
_NUMBERING = re.compile(
    r"^\s*(?:"
    r"(?:[-*\u2022\u25cf\u25aa\u2013\u2014>]+\s+)"  # bullets
    r"|(?:\(?\d{1,3}\s*[.)\uff0e\u3001:\uff1a]\s*)(?!\d)"  # 3.  3)  (3)  3、 3:
    r"|(?:[\uff08(]\s*\d{1,3}\s*[\uff09)]\s*)"  # （3）
    r"|(?:#\s?\d{1,3}\s*[.:)-]?\s+)"  # #3
    r"|(?:\d{1,3}\s+[-\u2013\u2014]\s+)"  # 3 - …
    r"|(?:(?:item|no\.?|number|task|instruction)\s*\d{1,3}\s*[.:)-]\s*)"  # Item 3:
    r"|(?:[a-hA-H][.)]\s+)(?=[A-Z\"'\u201c])"  # a) B.
    r"|(?:[A-Z]\s?:\s+)"  # B: (a speaker)
    r"|(?:(?:i{1,3}|iv|v|vi{1,3}|ix|x)[.)]\s+)"  # iv.
    r"|(?:[\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341]{1,3}\s*[\u3001.\uff0e])"
    r"|(?:[\uff08(][\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341]{1,3}[\uff09)])"
    r")",
    re.IGNORECASE,
)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?m\.?|Z|[+-]\d{2}:?\d{2})?)?"
_DATE = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2023-07-15, 2023/7/15
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 15/07/2023, 7-15-23
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # July 15, 2023
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+\d{{4}}"  # 15 July 2023
    r"|\d{4}\s*\u5e74\s*\d{1,2}\s*\u6708\s*\d{1,2}\s*[\u65e5\u53f7]"  # 2023年7月15日
    r")" + _TIME
)
# A date stamp opens the item and is set off: "2023-07-15: ", "[2023-07-15] ", "July 15,
# 2023 - ", "2023年7月15日：". A date that is part of the sentence ("2023-07-15 was a
# Saturday") has no separator and stays.
_DATE_STAMP = re.compile(
    rf"^\s*[\[(]?\s*(?:on\s+)?{_DATE}\s*[\])]?\s*(?:[:|\uff1a\u3001,\uff0c]|\s[-\u2013\u2014]|\]|\))\s*",
    re.IGNORECASE,
)
_DATE_BRACKETED = re.compile(rf"^\s*[\[(]\s*{_DATE}\s*[\])]\s*", re.IGNORECASE)
# A year alone, set off by a colon: "2022: What is the best way to change a flat tyre".
_YEAR_STAMP = re.compile(r"^\s*[\[(]?(?:19|20)\d{2}[\])]?\s*[:\uff1a]\s*(?=\S)")
# A reply's preamble before the one task it announces: "Sure! Here is a new task: write a
# story about a dragon.", "Here's one for you: …", "Okay, new task: …", "好的，这是一个新任务：…".
# Plural ("Here are five more tasks:") announces a list: that stays a reply; so does a preamble
# with nothing after it. "Here is a customer review: …" introduces an input and stays too.
_REPLY_WORD = (
    r"(?:sure|certainly|of\s+course|absolutely|okay|ok|alright|all\s+right|great|gladly|"
    r"no\s+problem|yes)"
)
_TASK_NOUN = r"(?:task|instruction|prompt|challenge|exercise|question|request|one)"
_PREAMBLE = re.compile(
    rf"^(?:{_REPLY_WORD}\b[\s!.,]*)?here(?:'s|\u2019s|\s+is|\s+comes)\s+"
    rf"(?:(?:a|an|one|another|the|my|your)\s+)?(?:[\w-]+\s+){{0,2}}?{_TASK_NOUN}"
    r"(?:\s+for\s+(?:you|the\s+model|the\s+assistant))?\s*[:\uff1a]\s*(?=\S)"
    rf"|^{_REPLY_WORD}\b[\s!.,]*(?:(?:a|an|another|the|my)\s+)?(?:new\s+|next\s+)?"
    r"(?:task|instruction|prompt|challenge)\s*[:\uff1a]\s*(?=\S)"
    r"|^(?:(?:好的|好|当然|没问题|可以)[，,！!。.\s]*)?(?:这是|以下是|下面是)(?:一个|另一个|一条)?"
    r"(?:新的?)?(?:任务|指令|问题)[：:]\s*(?=\S)"
    r"|^(?:好的|当然|没问题)[，,！!。.\s]*(?:新的?)?(?:任务|指令)[：:]\s*(?=\S)",
    re.IGNORECASE,
)


def _strip_quotes(text: str) -> str | None:
    """`text` without the quotes around all of it (a trailing . , ; after the closing quote
    goes too); a lone opening quote with no closer anywhere goes as well. None: unchanged."""
    if len(text) < 2:
        return None
    first = text[0]
    if first not in _QUOTE_PAIRS:
        return None
    body = text.rstrip(" .,;")
    closer = _QUOTE_PAIRS[first]
    if len(body) >= 2 and (
        body[-1] == closer or (first != "'" and body[-1] in _CLOSERS and body[-1] != "'")
    ):
        inner = body[1:-1]
        # '"A" and "B"' is not one quoted item: only strip when the inner text has no
        # unbalanced quote of the same kind.
        # An apostrophe inside a word ("JavaScript's") is no quote.
        loose = re.sub(r"(?<=\w)'(?=\w)", "", inner) if first == "'" else inner
        if first in "\"'`\uff02" and loose.count(first) % 2 == 1:
            return None
        return inner.strip()
    if first != "'" and closer not in text[1:] and not any(c in text[1:] for c in "\u201d\u300d"):
        return text[1:].strip()  # a lone opener: the model's closing quote was cut
    return None


def normalise(raw: str, lang: str = "en") -> Normalised:
    """Strip numbering, surrounding quotes, leading date stamps and a reply's preamble before
    its one task, repeatedly (they nest: `3. "2023-07-15: Rewrite…"`), collapse whitespace,
    and upper-case the first letter when something was stripped. `lang` is "en" or "zh"
    (both forms are recognised either way).
    """
    text = re.sub(r"\s+", " ", raw or "").strip()
    changes: list[str] = []
    for _ in range(8):  # each pass strips one layer; 8 is far more than models nest
        m = _NUMBERING.match(text)
        if m and m.end() < len(text):
            text, step = text[m.end() :].strip(), "numbering"
        elif (
            m := _DATE_STAMP.match(text) or _DATE_BRACKETED.match(text) or _YEAR_STAMP.match(text)
        ) and m.end() < len(text):
            text, step = text[m.end() :].strip(), "date"
        elif (q := _strip_quotes(text)) is not None and q:
            text, step = q, "quotes"
        elif (m := _PREAMBLE.match(text)) and m.end() < len(text):
            text, step = text[m.end() :].strip(), "preamble"
        else:
            break
        changes.append(step)
    if changes and text and text[0].islower():
        text = text[0].upper() + text[1:]
    return Normalised(text, raw, tuple(changes))


# ================================================================== shape: English
@dataclass(frozen=True)
class Shape:
    """The verdict: `kind` is one of the kinds above; `ok` whether it is a task form."""

    kind: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in TASK_KINDS


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


@lru_cache(maxsize=1)
def _lexicon() -> Any:
    # Imported on first use: the window reads this module's constants at start-up.
    import lemminflect

    return lemminflect


@lru_cache(maxsize=8192)
def _is_base_verb(word: str) -> bool:
    """Whether `word` (lower case) can be a verb in its base form ("write", "brainstorm",
    "summarise"), by lemminflect's lexicon; unknown words are judged by their inflections."""
    if "-" in word:
        # "Re-write", "Double-check", "Co-author": a prefix the lexicon spells joined or a verb
        # after it ("Long-term goals" is no imperative: "long" is no verb prefix).
        prefix, _, verb = word.rpartition("-")
        return prefix in _VERB_PREFIXES and (_is_base_verb(prefix + verb) or _is_base_verb(verb))
    if not word.isalpha() or word in _NOT_IMPERATIVE:
        return False
    if word in _EXTRA_VERBS:
        return True
    lemmas = _lexicon().getAllLemmas(word).get("VERB")
    return lemmas is not None and word in lemmas


@lru_cache(maxsize=8192)
def _gerund_lemma(word: str) -> str | None:
    """The verb of a gerund ("converting" -> "convert"), or None."""
    if not word.endswith("ing") or len(word) < 5:
        return None
    lemmas = _lexicon().getAllLemmas(word).get("VERB")
    return lemmas[0] if lemmas and lemmas[0] != word else None


# Words the lexicon lists as verbs that, at the start of a generated item, head a title or a
# noun phrase instead ("Best ways to…", "Top ten…", "Summer reading list").
_NOT_IMPERATIVE = _wordset(
    "best top summer winter spring autumn fall favorite favourite a an the this that these those "
    "no yes may might must will shall can could would should ok okay"
)
# Verbs the lexicon lacks in British or technical spellings.
_EXTRA_VERBS = _wordset(
    "summarise organise categorise prioritise analyse paraphrase brainstorm rephrase tokenize "
    "tokenise debug refactor google tweet"
)

# Prefixes a hyphenated imperative may carry ("Re-write", "Fact-check", "Co-author").
_VERB_PREFIXES = _wordset("re co pre de un mis over under out double cross fact spell sub")

# Verbs whose imperative takes "of" ("Think of a headline").
_VERBS_OF = _wordset("think dream conceive speak approve beware make take")
_WH = _wordset("what which who whom whose when where why how")
_AUX = _wordset(
    "is are was were am do does did can could would will should shall may might must have has "
    "had isn't aren't wasn't weren't don't doesn't didn't can't couldn't wouldn't won't "
    "shouldn't haven't hasn't"
)
# Words that may precede the verb of an imperative clause.
_FILLERS = _wordset(
    "please kindly now then so and also next finally first second third lastly just simply "
    "briefly quickly carefully ok okay hey hi or but thus therefore instead additionally "
    "further furthermore besides still again"
)
# A clause that starts with one of these is an adverbial or subordinate opener; the main
# clause comes after its comma ("In about fifty words, describe…", "Given a list, sort it").
_OPENERS = _wordset(
    "in for to from given using based if when as on during after before once with without "
    "assuming considering suppose supposing imagine by at under according following "
    "regarding unless while whenever since because although though here there taking "
    "starting beginning keeping"
)

_TASK_STATEMENT = re.compile(
    r"^(?:you|we|i|one)\s+(?:will\s+|would\s+)?(?:also\s+)?"
    r"(?:need|needs|have\s+to|has\s+to|should|must|ought|are\s+(?:required|asked|expected|supposed|"
    r"going|tasked|invited|given|provided|shown|presented|to)|will\s+be\s+(?:asked|required|"
    r"given|provided|tested|shown|presented)|have\s+been\s+(?:given|provided|asked)|"
    r"get\s+to)\b"
    r"|^(?:your|the|our|my)\s+(?:task|job|goal|assignment|challenge|mission|aim)\s+"
    r"(?:is|will\s+be|here\s+is)\s+to\b"
    r"|^(?:it\s+is\s+up\s+to\s+you|it's\s+up\s+to\s+you)\b"
    r"|^(?:i|we)(?:'d|\s+would)\s+(?:appreciate|(?:like|love|want)\s+(?:you|for\s+you|"
    r"someone|help|a|an|some|to\s+(?:know|learn|understand|see|get|have|hear|find|ask)))\b"
    r"|^(?:i|we)\s+(?:want|need)\s+(?:you|someone|a|an|some|help)\b"
    r"|\bif\s+you\s+(?:could|would|can)\b"
    r"|\bit\s+would\s+be\s+(?:great|helpful|nice|appreciated|wonderful|good|useful)\b",
    re.IGNORECASE,
)
# "The email should be rewritten…", "A list … must be compiled."
_PASSIVE_TASK = re.compile(
    r"(?<!\bthat\s)(?<!\bwhich\s)(?<!\bwho\s)\b(?:should|must|needs?\s+to|has\s+to|have\s+to|is\s+to|are\s+to|will\s+need\s+to)\s+"
    r"(?:then\s+|also\s+|first\s+)?be\s+[a-z]+(?:ed|en|wn|ne|lt|pt|nt|ck|ld|ng|ung|ught|ade|"
    r"id|et|ut|ead|ot|ound|own|ept|eft|old|ed)\b",
    re.IGNORECASE,
)

# ---- the kinds rejected even in a task form
# Replies addressed to the user, or talk about the conversation itself.
_REPLY = re.compile(
    r"^(?:sure|certainly|of\s+course|absolutely|okay|ok|great|thanks|thank\s+you|sorry|"
    r"i'?m\s+sorry|i\s+am\s+sorry|unfortunately|as\s+an\s+ai|hello|hi|hey|greetings|"
    r"i'?d\s+be\s+(?:happy|glad)|i\s+would\s+be\s+(?:happy|glad)|i\s+hope|"
    r"i\s+(?:can|can't|cannot|will|'ll)\s+(?:help|do|try|provide|give|tell|write)|"
    r"i'll\s|let\s+me\s+know|feel\s+free|don't\s+hesitate|i\s+am\s+ready|i'm\s+ready)\b"
    r"|^here\s+(?:is|are)\s+(?:[\w-]+\s+){0,4}?(?:tasks?|instructions?|answers?|responses?|"
    r"suggestions?|ideas?|examples?|questions?)\b[^.?!]*[:.!]?$"
    r"|\b(?:can|may|could|shall)\s+i\s+(?:help|assist)\s+you\b"
    r"|\bi\s+can\s+(?:help|assist)\s+you\s+with\b"
    r"|\bwhat\s+can\s+i\s+(?:help|do\s+for)\b"
    r"|\bhow\s+i\s+(?:can|could|might)\s+(?:help|assist)\b"
    # Asking the user what they meant ("What do you mean by …?", "I'm not sure what you're
    # asking, but…")
    r"|^what\s+do\s+you\s+mean\b|\bnot\s+sure\s+what\s+you(?:'re|\s+are)\s+(?:asking|saying)\b"
    r"|\bas\s+an\s+ai\b"
    r"|\b(?:task|question|prompt|request|topic|text|information|one|thing)s?\s+(?:that\s+)?"
    r"you(?:'re|\s+are|\s+were|'ve|\s+have)?\s+(?:referring|asking|talking|mentioning|"
    r"mentioned|referred)\b"
    r"|\byou(?:'re|\s+are|\s+were)\s+(?:referring|asking|talking)\s+(?:to|about)\b"
    r"|\byour\s+(?:list\s+of\s+)?tasks\b"
    # The prompt's own examples ("all eight items mentioned above", "the above tasks")
    r"|\b(?:tasks?|items?|examples?|instructions?|challenges?)\s+(?:that\s+(?:are|were)\s+)?"
    r"(?:mentioned|listed|given|shown)\s+above\b|\bthe\s+above\s+(?:tasks?|items?|"
    r"examples?|instructions?|challenges?)\b"
    r"|\b(?:more|additional|further|some)\s+(?:information|details|context|clarification)"
    r"(?:\s+(?:about|on|regarding)\s+(?:the|your|this|that)\s+(?:task|question|request|"
    r"problem|prompt))?\s*(?:so\s+(?:that\s+)?i\s+can\b.*)?[.!]?$"
    r"|\bplease\s+provide\s+(?:it|them)\b"
    # The writer offers to act for the reader: "Just send me the details, and we'll get started."
    r"|\bsend\s+(?:me|us)\s+(?:the|your)\s+(?:details|information|info)\b"
    r"|\b(?:i|we)(?:'ll|\s+will)\s+(?:get\s+started|get\s+back\s+to\s+you)\b"
    r"|\bjust\s+let\s+me\s+know\b|\blet\s+me\s+know\s+(?:if\s+you|when\s+you|tomorrow|later)\b"
    # The generation request echoed back ("Write 8 new tasks that are different from these.")
    r"|\b(?:\d+|some|more|several|a\s+few|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|twenty)\s+(?:new\s+|more\s+|other\s+|different\s+)+"
    r"(?:tasks|instructions)\b|\bnumber\s+them\b|\bone\s+task\s+per\s+line\b"
    r"|\b(?:write|create|generate|add|give)\s+(?:me\s+)?(?:a|an|one|another)\s+new\s+"
    r"(?:task|instruction)\b(?!\s+(?:list|manager|board))",
    re.IGNORECASE,
)
# The text gives an answer: "The answer to the question … is 5.", "… "How many …?" is 5.",
# "Who invented the telephone? : Alexander Graham Bell" (a question, a colon, what follows).
_ANSWER = re.compile(
    r"\bthe\s+(?:correct\s+|right\s+|final\s+)?answer\s+(?:to\s+.+?\s+)?(?:is|was|would\s+be)\s+"
    r"(?!to\b)"
    r"|^[^:?]+\?\s+:\s+[A-Z]"
    r"|[?]\s*[\"'\u201d\u2019]\s*(?:is|was|equals|=)\s",
    re.IGNORECASE,
)
# Self-improvement advice: a verb of personal change with the reader's own thing as object
# ("Improve your public speaking abilities").
_ADVICE_VERBS = _wordset(
    "improve develop enhance boost build strengthen increase expand sharpen hone practice "
    "practise master grow work focus maintain manage overcome stop start stay keep be become "
    "follow chase pursue believe trust love accept embrace reduce cut avoid quit boost "
    "level upgrade polish nurture cultivate invest track find discover unlock achieve reach "
    "set get take learn read do change"
)
# Actions in the world and conduct ("Stay hydrated", "Be kind to everyone"), which a text
# model cannot perform for anyone, whatever follows.
_WORLD_VERBS = _wordset(
    "visit travel hike swim jog exercise eat drink sleep nap meditate attend buy shop "
    "drive fly wear relax volunteer donate cook bake vacation tour stay be spend enjoy smile "
    "breathe believe never always don't quit chill hang"
)
# Leads that only remind the reader of something ("Make sure to save your work").
_REMINDER = re.compile(
    r"^(?:make\s+sure|be\s+sure|remember|don't\s+forget|do\s+not\s+forget|"
    r"try\s+to|try\s+not\s+to|go\s+(?:for|to|on|out|outside|ahead\s+and\s+"
    r"(?:relax|enjoy))|get\s+(?:plenty|enough|more|regular|adequate|outside|up|"
    r"out|rid|rest|sleep|fresh|some\s+(?:rest|sleep|exercise|air)))\b"
)
# Habits are advice: "Practice mindfulness every day.", "Learn a new language this year."
_HABIT = re.compile(
    r"\b(?:every\s+(?:day|morning|night|evening|week|month)|each\s+(?:day|morning|"
    r"night|week)|daily|nightly|weekly|this\s+year|regularly|more\s+often|"
    r"at\s+least\s+(?:once|twice)|from\s+now\s+on)\b"
)
_WORLD_TAKE = re.compile(
    r"^take\s+(?:a|an|the|some|your)\s+(?:[\w-]+\s+){0,3}?(?:trip|walk|break|vacation|holiday|"
    r"nap|hike|tour|journey|course|class|shower|bath|day\s+off|stroll|ride|flight|cruise|"
    r"breath|moment|rest|minute|step\s+back|time\s+off)\b",
    re.IGNORECASE,
)
# Conduct and chores: practising a virtue ("Practice mindfulness in public spaces.", "Show
# gratitude for others…"), setting reminders, mending physical things ("Fix the car…"; "Fix
# the bug…" is a task).
_CONDUCT = re.compile(
    r"^(?:practi[cs]e|show|express|cultivate|embrace|develop|build|find|keep|maintain|spread|"
    r"choose|have)\s+(?:(?:more|some|a\s+little|true|real|daily|genuine)\s+)?(?:mindfulness|"
    r"gratitude|patience|kindness|compassion|empathy|self-care|self-love|forgiveness|"
    r"resilience|self-discipline|humility|positivity|optimism|generosity|respect|courage)\b"
    r"|^set\s+(?:a|an|up\s+a|your)\s+(?:[\w-]+\s+)?(?:reminder|alarm|timer)\b"
    r"|^(?:fix|repair|clean|wash|paint|mow|tidy|mend|service)\s+(?:the|your|a|my|our)\s+"
    r"(?:[\w-]+\s+)?(?:car|bike|bicycle|faucet|tap|sink|toilet|roof|door|window|fence|house|"
    r"room|kitchen|garden|lawn|garage|bathroom|floor|dishes|laundry|engine|tyre|tire)s?\b"
)
# Acts in a business or an organisation rather than text: founding or running something
# ("Develop a smart bike manufacturing company…"), carrying out a plan ("Implement a new
# marketing strategy…"; "Implement a function…" is code, a task), or moving a real-world
# measure ("Improve employee mental health by…"; "Improve the readability…" is a task).
_WORLD_ACT = re.compile(
    r"^(?:develop|build|launch|start|found|open|run|establish|create|set\s+up|grow|expand)\s+"
    r"(?:a|an|your|our|the)\s+(?:[\w-]+\s+){0,3}?(?:company|business|startup|start-up|factory|"
    r"franchise|shop|store|restaurant|cafe|charity|nonprofit|non-profit|organi[sz]ation|firm|"
    r"brand|empire)\b(?!\s+(?:name|names|logo|slogan|plan|description|profile|website|"
    r"newsletter|story|report|proposal)\b)"
    r"|^(?:implement|execute|roll\s+out|deploy|adopt|enforce|carry\s+out)\s+(?:a|an|the|your|"
    r"our|this|new)\s+(?:[\w-]+\s+){0,3}?(?:strategy|strategies|plan|policy|policies|"
    r"programme|program|initiative|campaign|scheme|reform|reforms)\b"
    r"|^(?:improve|increase|boost|raise|reduce|lower|cut|grow|strengthen|promote|enhance)\s+"
    r"(?:(?:the|your|our|their|its|a|an)\s+)?(?:[\w-]+\s+){0,2}?(?:health|sales|loyalty|"
    r"productivity|morale|engagement|retention|revenue|revenues|profits?|wellbeing|well-being|"
    r"turnover|costs|emissions|attendance|satisfaction)\b(?!\s+(?:data|report|figures|table)\b)"
)
# A purpose or deliverable after "Use X …": without one, "Use personal branding on social
# media." is advice, "Use the data to calculate the median." is a task.
_USE_PURPOSE = re.compile(
    r"\b(?:to|and|by|for\s+\w+ing|so\s+that|in\s+order|as)\b|:|,", re.IGNORECASE
)
# A request for help that names no task ("Can you help me with my homework tomorrow?").
_BARE_HELP = re.compile(
    r"^(?:can|could|would|will)\s+you\s+(?:please\s+)?help\s+(?:me|us)(?:\s+out)?"
    r"(?:\s+with\s+(?:my|our|this|that|it|something|the)\b[^,:;]*?)?\s*[?.!]?$",
    re.IGNORECASE,
)
# Doing something at a later time is not a task a model performs now.
_LATER = re.compile(
    r"\b(?:tomorrow|tonight|next\s+(?:week|month|year|time)|later\s+today|"
    r"this\s+(?:weekend|evening|afternoon))\b",
    re.IGNORECASE,
)
# A question about the asker's own memories or the assistant's own tastes: no one else can
# answer it ("Is there a song that reminds me of your favorite country?").
_PERSONAL = re.compile(
    r"\breminds?\s+me\b|\byour\s+favou?rite\b|\bdo\s+i\s+(?:like|remember|"
    r"want|love|feel)\b|\bdid\s+you\b|\bhave\s+you\s+ever\b",
    re.IGNORECASE,
)
# Asking the user about the user ("Ask if I'm a 5-7-5 syllable type of person").
_ASK_ME = re.compile(r"^(?:please\s+)?ask\s+(?:me\s+)?(?:if|whether)\s+i\b", re.IGNORECASE)
_SYSTEM = re.compile(
    r"^(?:you\s+are|you're|you\s+will\s+act\s+as|act\s+as|as)\s+(?:a|an|the|"
    r"my|our)\b",
    re.IGNORECASE,
)

_QUOTED = re.compile(
    r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|\u00ab[^\u00bb]*\u00bb|"
    r"(?<![A-Za-z])'[^']*'(?![A-Za-z])|`[^`]*`"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_CLAUSE_SEP = re.compile(r"\s*(?::|;|\s[-\u2013\u2014]\s|\u2014)\s*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*|\d+|Q")


def _mask_quotes(text: str) -> str:
    # Quoted text is content (an example, a question to answer), never the item's own form.
    return _QUOTED.sub(" Q ", text)


def _words(clause: str) -> list[str]:
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(clause)]


def _clause_kind(clause: str, depth: int = 0) -> str | None:
    """The task form of one clause, or None. Skips fillers and leading adverbials."""
    c = clause.strip().strip("*_()[]").strip()
    if not c:
        return None
    words = _words(c)
    while words and words[0] in _FILLERS:
        words = words[1:]
    if not words:
        return None
    w0 = words[0]
    rest = " ".join(words)
    if w0 in ("let's", "lets") or rest.startswith("let us "):
        return IMPERATIVE
    if _TASK_STATEMENT.search(rest) or _PASSIVE_TASK.search(c):
        return TASK_STATEMENT
    if w0 in _WH:
        if c.rstrip().endswith("?") or (len(words) > 1 and words[1] in _AUX):
            return QUESTION
        return None  # "How to avoid missing deadlines", "Why you should learn to code": titles
    if w0 in _AUX:
        # "Does not answer the question…" is a fragment, "Does the text…" a question.
        return QUESTION if len(words) > 1 and words[1] != "not" else None
    if c.rstrip().endswith("?") and len(words) >= 3:
        return QUESTION  # "The capital of France is which city?"
    # A verb alone before a comma or colon is a label or a list ("Answer: 42", "Blue, green").
    head = _words(c.split(",")[0])
    while head and head[0] in _FILLERS:
        head = head[1:]
    # "Number of people…", "List of tasks": a noun heads the phrase, not a verb.
    noun_head = len(words) > 1 and words[1] == "of" and w0 not in _VERBS_OF
    if (
        _is_base_verb(w0)
        and len(words) > 1
        and len(head) > 1
        and not noun_head
        and words[1] not in _AUX - {"can", "may"}
    ):
        return IMPERATIVE
    # "Converting 85 F to Celsius." (a seed's style); with a finite verb the gerund is the
    # subject of a statement ("Using … is a sign of laziness.").
    if (
        _gerund_lemma(w0)
        and c.rstrip().endswith(".")
        and depth == 0
        and not any(w in _AUX for w in words[1:])
    ):
        return IMPERATIVE
    # An opener: the main clause follows a comma ("In about fifty words, describe…").
    if (w0 in _OPENERS or _gerund_lemma(w0) or w0.endswith("ed")) and "," in c and depth < 3:
        for part in c.split(",")[1:]:
            k = _clause_kind(part, depth + 1)
            if k is not None:
                return k
    return None


def _content_problem(clause: str) -> str | None:
    """A task-form clause that still is no task: advice, an action in the world, a request
    with no task in it, or a question no one but the asker can answer."""
    c = clause.strip()
    words = _words(c)
    while words and words[0] in _FILLERS:
        words = words[1:]
    if not words:
        return None
    w0 = words[0]
    if w0 in _ADVICE_VERBS and ("your" in words[1:3] or "yourself" in words[1:3]):
        return ADVICE
    joined = " ".join(words)
    if (
        w0 in _WORLD_VERBS
        or _WORLD_TAKE.search(joined)
        or _REMINDER.search(joined)
        or _WORLD_ACT.search(joined)
        or _CONDUCT.search(joined)
    ):
        return ADVICE
    if w0 in _ADVICE_VERBS and _HABIT.search(joined):
        return ADVICE
    if w0 == "use" and not _USE_PURPOSE.search(c) and len(words) <= 12:
        return ADVICE
    if _BARE_HELP.search(c) or (w0 in _AUX and _LATER.search(c)):
        return NO_TASK_REQUEST
    if (c.endswith("?") and _PERSONAL.search(c)) or _ASK_ME.search(c):
        return NO_TASK_REQUEST
    return None


# Where an imperative clause coordinates a second one: "…, and then …", "… and …", "…, then …".
_CONJUNCT = re.compile(r",?\s+(?:and(?:\s+then)?|then)\s+", re.IGNORECASE)


# A word that opens a nested verb phrase: an "and" after it may coordinate inside that phrase
# ("… company … that will reduce waste and support sustainability").
_NESTED = _wordset("that which who whom whose where when will would can could to may might")


# What a text model does, as the verb after advice: "Be creative and write…" is a task, "Be
# brave and ask for a raise", "Stay home and watch a movie" are not.
_TEXT_VERBS = _wordset(
    "write compose draft describe explain tell greet name list give suggest propose generate "
    "create summarise summarize translate rewrite rephrase paraphrase answer respond reply "
    "introduce outline classify identify define compare contrast recommend craft invent "
    "design brainstorm solve calculate compute convert correct edit proofread analyse analyze "
    "evaluate rate rank sort extract label predict estimate narrate recite argue justify "
    "illustrate state spell count tag"
)


def _task_conjunct(clause: str) -> bool:
    """Whether a later conjunct of `clause` is an imperative with no content problem of its
    own ("Be creative and write a slogan for a coffee shop." — yes; "Stay hydrated and get
    enough sleep.", "Take a deep breath and relax." — no: advice, or a verb alone). Only a
    conjunct of the main clause counts: none after a relative clause or an infinitive."""
    parts = _CONJUNCT.split(clause)
    for i in range(1, len(parts)):
        if _NESTED.intersection(_words(" ".join(parts[:i]))):
            return False
        words = [w for w in _words(parts[i]) if w not in _FILLERS]
        if (
            words
            and (words[0] in _TEXT_VERBS or " ".join(words[:3]) == "come up with")
            and " ".join(words[:3]) not in ("tell the truth", "tell no lies")
            and _clause_kind(parts[i], 1) == IMPERATIVE
            and _content_problem(parts[i]) is None
        ):
            return True
    return False


def _clauses(text: str) -> list[str]:
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        out.extend(p for p in _CLAUSE_SEP.split(sentence) if p.strip())
    return out


def _shape_en(text: str) -> Shape:
    # A list item's closing ";" or "," is the list's punctuation ("Crafting a sentence …;").
    text = re.sub(r"(?<=[.?!])\s*[;,]\s*$", "", text)  # "…or future?;"
    text = re.sub(r"\s*[;,]\s*$", ".", text)
    masked = _mask_quotes(text)
    if re.search(r"\.[\"'\u201d\u2019]\s*$", text):
        masked = masked.rstrip() + "."  # the closing full stop was inside the quotes
    if _REPLY.search(masked):
        return Shape(REPLY)
    if _ANSWER.search(text):
        return Shape(ANSWER)
    # "Restate: "Each person pays $10"", "Explain: …": a verb that is only a verb, as a label
    # before its input ("Answer: 42", "Rating: 8" are labels: those words are nouns too).
    if (m := _VERB_LABEL.match(masked)) and _only_verb(m.group(1).lower()):
        clause = masked[m.end() :]
        return Shape(_content_problem(clause) or IMPERATIVE)
    # "Which emotion best fits the speaker: Joy, Anger, … or Other." (a choice to make).
    if (m := _WH_CHOICE.match(masked)) and not _WH_TITLE.match(masked):
        return Shape(QUESTION)
    problem: str | None = None
    for clause in _clauses(masked):
        kind = _clause_kind(clause)
        if kind is None:
            continue
        issue = _content_problem(clause)
        if issue is None:
            return Shape(kind)
        if issue == ADVICE and _task_conjunct(clause):
            # "Be creative and write a slogan…", "Stay in character as a pirate and greet the
            # user.": conduct that frames a task; the task is what the model performs.
            return Shape(IMPERATIVE)
        problem = problem or issue
    if problem is not None:
        return Shape(problem)
    if masked.rstrip().endswith(":"):
        # "My favourite review is this:" introduces an input; "The Six Pillars of Clean
        # Water:" is a heading (Title Case, no task form).
        if _title_case(masked):
            return Shape(TITLE)
        return Shape(INPUT_INTRO)  # "Brainstorm features …:" and "My favourite review is this:"
    return Shape(_not_task_kind(text, masked))


_VERB_LABEL = re.compile(r"^\s*([A-Za-z][a-z]+(?:-[a-z]+)?)\s*:\s*(?=\S)")
# Verbs that are nouns too, yet as a label before an input are a command.
_LABEL_VERBS = _wordset("rewrite paraphrase rephrase")
_WH_CHOICE = re.compile(
    r"^\s*(?:which|what|who)\s+[^:?]{3,}:\s*[^:]+,[^:]*\bor\s+[^:]+[.?]?\s*$", re.IGNORECASE
)
_WH_TITLE = re.compile(r"^\s*\w+\s+(?:to|you|i|we)\b", re.IGNORECASE)


def _only_verb(word: str) -> bool:
    """Whether the lexicon knows `word` as a base-form verb and as nothing else."""
    if word in _LABEL_VERBS or word in _EXTRA_VERBS:
        return True
    if not _is_base_verb(word):
        return False
    lemmas = _lexicon().getAllLemmas(word)
    return set(lemmas) == {"VERB"}


_MINOR = _wordset("a an the of and or for to in on at by with from as vs nor but")


def _title_case(text: str) -> bool:
    """A heading: at least two words, every word but the minor ones capitalised."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    major = [w for w in words if w.lower() not in _MINOR]
    return len(words) >= 2 and len(major) >= 2 and all(w[0].isupper() for w in major)


def _not_task_kind(text: str, masked: str) -> str:
    if _SYSTEM.match(text):
        return SYSTEM_PROMPT
    words = _words(masked)
    if not words:
        return FRAGMENT
    if text[:1].isdigit() or len(words) < 4:
        return FRAGMENT
    if not re.search(r"[.!?:]\s*$", text):
        return TITLE
    return STATEMENT


# ================================================================== shape: Chinese
_ZH_QUESTION_END = re.compile(r"[？?]\s*$|[吗呢么嘛]\s*[。.!！]?\s*$")
_ZH_QUESTION_WORD = re.compile(
    r"什么|怎么|怎样|如何|为什么|为何|哪[里儿些个种位条一]?|多少|几[个种岁天年]|是否|是不是|能否|可否|"
    r"有没有|对不对|是.+还是"
)
# Verbs and openers that start an instruction in Chinese: a task verb ("写", "列出", "解释"),
# a politeness marker ("请"), or a preposition that fronts the object before the verb ("把下面
# 这句话改写…", "为一家书店想…", "用一句话概括…").
_ZH_TASK_START = re.compile(
    r"^(?!答案)(?:请|麻烦|劳驾|帮我|帮忙|帮|替我|给我|让我们|我们来|试着|尝试|"
    r"写|编写|撰写|书写|续写|仿写|扩写|缩写|改写|重写|创作|作|编|拟|起|"
    r"生成|给出|列出|列举|举出|举例|提供|说出|说明|讲|讲述|讲解|解释|阐述|论述|描述|描写|介绍|"
    r"总结|概括|归纳|整理|翻译|译|润色|修改|改正|纠正|校对|检查|判断|区分|识别|辨别|分辨|分类|"
    r"归类|计算|算|求|解|解答|回答|答|回复|完成|补全|补充|填写|填入|填|选择|选出|挑选|选|"
    r"找出|找|寻找|提取|抽取|标注|标出|指出|确定|评价|评估|评论|分析|比较|对比|推荐|建议|设计|制定|"
    r"规划|安排|策划|制作|做|画|造句|造|组词|组|排序|排列|转换|转写|转化|改成|变成|"
    r"预测|估算|估计|证明|推导|讨论|思考|想|猜|猜测|命名|取|模仿|扮演|假设|假如|想象|设想|"
    r"已知|阅读|读|看|听|观察|根据|依据|基于|按照|按|针对|围绕|结合|参考|利用|使用|用|以|"
    r"把|将|为|给|向|对|从|在|就|接出|接|教|告诉|提出|出|拆分|拆|合并|统计|查找|查询|匹配|"
    r"解析|实现|编程|优化|测试|调试|检测|验证|核对|定义|区别|说说|谈谈|聊聊|列|写出|背诵|默写)"
)
_ZH_TASK_STATEMENT = re.compile(
    r"^(?:你|您|我们)(?:需要|应该|应当|必须|要|得|可以|将|会被|被要求|的任务是)|"
    r"^(?:任务|要求|目标)(?:是|为)|^我想(?:请你|让你|要你)|^我(?:需要|希望|想要?)你|如果你能|"
    r"^(?:给定|已知|假设|假如|现有|下面是|以下是)"
)
_ZH_REPLY = re.compile(
    r"^(?:好的|好吧|当然|没问题|可以的|抱歉|对不起|很抱歉|非常抱歉|谢谢|感谢|作为一个?(?:AI|人工智能|"
    r"语言模型))|请提供更多(?:的)?(?:信息|细节|详情|上下文)|您(?:提到|所说|指)的(?:任务|问题)|"
    r"你(?:提到|所说|指)的(?:任务|问题)|你的任务列表|(?:我|本人)(?:无法|不能)(?:回答|完成|提供)"
)
_ZH_ANSWER = re.compile(r"答案(?:是|为|：|:)")
_ZH_SYSTEM = re.compile(r"^(?:你是|您是)(?:一[位个名只]|个|位|名)[^，。？！,?!]*[。.!！]?$")
_ZH_ADVICE = re.compile(r"^(?:提高|提升|改善|增强|加强|培养|发展|锻炼|坚持|保持)(?:你|自己)的")
_ZH_CLAUSE_SEP = re.compile(r"[。！？!?；;：:\n]|，|,")


def _zh_clause_kind(clause: str) -> str | None:
    c = clause.strip().strip("“”\"'「」『』（）() ")
    if not c:
        return None
    if _ZH_TASK_STATEMENT.search(c):
        return TASK_STATEMENT
    if _ZH_TASK_START.match(c) and not _ZH_ADVICE.match(c):
        return IMPERATIVE
    if _ZH_QUESTION_WORD.search(c) or _ZH_QUESTION_END.search(c):
        return QUESTION
    return None


# Garbled output: a run of one punctuation mark ("；；；；", "＃＃＃＃").
_ZH_GARBLED = re.compile(r"([；;，,！!＃#。．－\-、：:])\1{2,}")


def _shape_zh(text: str) -> Shape:
    if _ZH_GARBLED.search(text):
        return Shape(FRAGMENT)
    if _ZH_REPLY.search(text):
        return Shape(REPLY)
    if _ZH_ANSWER.search(text) and not _ZH_TASK_START.match(text):
        return Shape(ANSWER)
    if _ZH_SYSTEM.match(text):
        return Shape(SYSTEM_PROMPT)
    if _ZH_ADVICE.match(text):
        return Shape(ADVICE)
    if re.search(r"[？?]", text):
        return Shape(QUESTION)
    # Sentences first (a question or a task may follow a statement of context), then the
    # comma-separated clauses inside them.
    for part in re.split(r"[。！!；;：:\n]", text):
        for clause in _ZH_CLAUSE_SEP.split(part):
            kind = _zh_clause_kind(clause)
            if kind is not None:
                return Shape(kind)
    if text.rstrip().endswith(("：", ":")):
        return Shape(INPUT_INTRO)
    if re.search(r"\d", text[:1]) or len(text) < 4:
        return Shape(FRAGMENT)
    if not re.search(r"[。！!.]\s*$", text):
        return Shape(TITLE)
    return Shape(STATEMENT)


# ================================================================== the rule
def shape(text: str, lang: str = "en") -> Shape:
    """The form of an (already normalised) instruction: a task kind (`Shape.ok`) or one of the
    kinds that are no instruction. `lang` "zh" uses the Chinese rule, anything else English."""
    t = (text or "").strip()
    if not t:
        return Shape(EMPTY)
    if lang == "zh" or (lang != "en" and re.search(r"[\u4e00-\u9fff]", t[:8])):
        return _shape_zh(t)
    return _shape_en(t)


def shape_reason(text: str, lang: str = "en") -> str | None:
    """`NOT_AN_INSTRUCTION` when `text` has no task form (or is one of the rejected kinds),
    else None."""
    return None if shape(text, lang).ok else NOT_AN_INSTRUCTION


def is_instruction(raw: str, lang: str = "en") -> bool:
    """Normalise, then the shape rule: whether `raw` (as a model wrote it) passes."""
    return shape(normalise(raw, lang).text, lang).ok
