"""Random and hostile chat messages, at the library level and through the app's handlers.

Messages mix random Unicode (invisible, right-to-left and control characters included),
Markdown/HTML/JavaScript payloads, the follow-ups the conversation understands, and huge
texts. Whatever comes in: no exception, a French answer, and nothing the user typed
becomes markup. Answers are rendered to HTML with markdown-it (CommonMark with raw HTML
allowed, as Gradio's Chatbot allows it before its sanitiser) and the elements checked.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import gradio as gr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from recommender.answers.conversation import MAX_TURNS, TOP, Conversation, reply
from recommender.search.search import MAX_QUERY_CHARS
from recommender.search.service import Engine, QueryError, prepare_query
from tests.test_conversation import NEED
from ui import chat, common

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[clic](http://evil.example/x)",
    "<a href='javascript:alert(1)'>lien</a>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<details open ontoggle=alert(1)>",
    "<style>body{display:none}</style>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img&#62; &amp;",
    "![x](http://evil.example/x.png)",
    "![x](javascript:alert(1))",
    "<http://evil.example/> <javascript:alert(1)>",
    "`<script>` ``` code ```",
    "| a | b |\n|---|---|\n| <b>x</b> | y |",
    "{{ 7*7 }} ${7*7} {% raw %}",
    "# Titre\n---\n> citation\n* puce\n1. liste",
    "**gras** _italique_ ~~barré~~ \\",
    "$$x^2$$ \\(x\\)",
    "javascript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "<!-- commentaire --> <![CDATA[x]]>",
    '"><script>alert(1)</script>',
]
FOLLOW_UPS = [
    "dans le 62 <script>alert(1)</script>",
    "montre la fiche 999 en entier",
    "plus comme la 0",
    "plus comme la -1",
    "plus comme la 2",
    "montre la fiche 1 en entier",
    "plutôt pour les ados <img src=x onerror=alert(1)>",
    "seulement celles en cours",
    "en milieu rural [x](javascript:alert(1))",
    "retire le filtre statut",
    "retire les filtres",
    "recommence",
]
WORDS = [
    NEED,
    "jardin partagé au pied des immeubles",
    "des ados traînent le soir",
    "personnes âgées isolées à la campagne",
    "démarches en ligne",
]
INVISIBLE = [
    *"\u200b\u200c\u200d\u2060\ufeff",  # zero-width
    *"\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",  # bidi marks
    *"\x00\x07\x08\x0b\x0c\x0d\x1b\x1c\x1f\x7f\x85\u2028\u2029\t",  # controls, separators
]
UNICODE = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=150)
PIECE = st.one_of(
    UNICODE,
    st.sampled_from(PAYLOADS),
    st.sampled_from(FOLLOW_UPS),
    st.sampled_from(WORDS),
    st.sampled_from(INVISIBLE),
)
MESSAGE = st.lists(st.tuples(PIECE, st.sampled_from(["", " ", "\n"])), min_size=1, max_size=6).map(
    lambda parts: "".join(piece + sep for piece, sep in parts)
)
SEED = st.one_of(st.sampled_from(PAYLOADS), st.sampled_from(WORDS), UNICODE.filter(bool))
HUGE = st.tuples(SEED, st.integers(MAX_QUERY_CHARS + 1, 200_000)).map(
    lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]]
)
LONG_FOLLOW_UP = st.tuples(st.sampled_from(FOLLOW_UPS), st.integers(MAX_QUERY_CHARS, 20_000)).map(
    lambda t: f"{t[0]} {'x' * t[1]}"  # a few words, then one huge one: cut back to a follow-up
)
CONVERSATION = st.lists(
    st.one_of(MESSAGE, MESSAGE, st.sampled_from(FOLLOW_UPS), HUGE, LONG_FOLLOW_UP),
    min_size=1,
    max_size=4,
)

FRENCH = re.compile(
    r"\b(?:besoin|fiches?|actions?|recherche|compris|repéré|filtres?|retiré|reparti)\b", re.I
)
TRUNCATED = re.compile(
    r"Texte très long \((\d{1,3}(?: \d{3})*) caractères\) : "
    r"seuls les 2 000 premiers ont été utilisés\."
)


# ---- rendering and checks ----------------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ALLOWED = {"p", "h3", "h4", "strong", "em", "blockquote", "hr", "ul", "ol", "li", "br", "small"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rendered(markdown: str) -> _Elements:
    parser = _Elements()
    parser.feed(MARKDOWN.render(markdown))
    parser.close()
    return parser


def plain(markdown: str) -> str:
    """The text a reader sees, spaces folded."""
    return " ".join("".join(rendered(markdown).text).split())


def assert_inert(markdown: str) -> None:
    """Nothing in `markdown` becomes an element, link, image or attribute."""
    tags = {t.lower() for t in re.findall(r"<\s*/?\s*([A-Za-z][\w:-]*)", markdown)}
    assert tags <= {"small"}, (tags, markdown[:500])  # the glossary line's <small> only
    assert not re.search(r"(?<!\\)\]\s*\(", markdown), markdown[:500]  # no [text](target)
    for tag, attrs in rendered(markdown).elements:
        assert tag in ALLOWED, (tag, markdown[:500])
        # <ol start="3"> when a record's line starts with « 3. »: no other attribute at all
        assert all(tag == "ol" and name == "start" for name, _ in attrs), (tag, attrs)


def assert_french_answer(text: str) -> None:
    assert isinstance(text, str) and text.strip()
    assert text != common.UNEXPECTED and "Traceback" not in text
    assert FRENCH.search(plain(text)), text[:500]
    assert_inert(text)


def assert_truncation_notice(message: str, text: str) -> None:
    """A message cut to 2 000 characters says so first, whatever the answer is; a message
    that was not cut never gets the notice."""
    try:
        notes = prepare_query(message).notes
    except QueryError:
        notes = ()
    seen = plain(text)
    if notes:
        assert seen.startswith(notes[0]) and TRUNCATED.match(seen), seen[:300]
    else:
        assert "Texte très long" not in seen, seen[:300]


def assert_usable(state: Conversation, engine: Engine) -> None:
    assert len(state.query) <= MAX_QUERY_CHARS
    assert len(state.turns) <= MAX_TURNS and len(state.last_ids) <= TOP
    assert all(engine.index.action(i) is not None for i in state.last_ids)


# ---- the conversation (library) ----------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONVERSATION)
def test_conversation_fuzz(fake_engine, messages):
    state = Conversation()
    for message in messages:
        state, text = reply(state, message, fake_engine)
        assert_french_answer(text)
        assert_truncation_notice(message, text)
        assert_usable(state, fake_engine)
    state, _ = reply(state, "retire les filtres", fake_engine)  # filters a payload may have set
    state, text = reply(state, NEED, fake_engine)
    assert len(state.last_ids) >= 3 and "**Limites**" in text and "**Perspectives**" in text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_stays_text_and_the_conversation_goes_on(fake_engine, payload):
    state, _ = reply(Conversation(), NEED, fake_engine)
    for message in (payload, f"{payload} jardin partagé", f"dans le 62 {payload}"):
        state, text = reply(state, message, fake_engine)
        assert_french_answer(text)
    state, text = reply(state, "retire les filtres", fake_engine)
    state, text = reply(state, NEED, fake_engine)
    assert state.last_ids and "**Limites**" in text


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("montre la fiche 999 en entier", "Il n'y a pas de fiche 999 dans la dernière réponse"),
        ("plus comme la 0", "Il n'y a pas de fiche 0 dans la dernière réponse"),
        ("plus comme la -1", "Il n'y a pas de fiche -1 dans la dernière réponse"),
        ("montre la fiche 7 <script>alert(1)</script>", "Il n'y a pas de fiche 7"),
    ],
)
def test_card_numbers_out_of_range_keep_the_conversation(fake_engine, message, expected):
    state, _ = reply(Conversation(), NEED, fake_engine)
    after, text = reply(state, message, fake_engine)
    assert after == state  # no new search with these words
    assert plain(text).startswith(expected) and f"(fiches 1 à {len(state.last_ids)})" in plain(text)


def test_a_follow_up_after_a_very_long_need_is_searched(fake_engine):
    """Before: the need filled the 2 000 characters, the follow-up was cut off the search
    and the answer said « Texte très long (2 031 caractères) » about a 36-character message."""
    state, text = reply(Conversation(), "jardin partagé " * 300, fake_engine)
    assert plain(text).startswith(
        "Texte très long (4 499 caractères) : seuls les 2 000 premiers ont été utilisés."
    )
    follow_up = "plutôt pour les ados en milieu rural"
    state, text = reply(state, follow_up, fake_engine)
    assert "Texte très long" not in text
    assert state.query.endswith(follow_up) and len(state.query) <= MAX_QUERY_CHARS
    assert state.turns[-1].query.endswith(follow_up)


def test_the_notice_stays_when_the_cut_message_is_a_mistake(fake_engine):
    _, text = reply(Conversation(), "plus comme la 2 " + "x" * 3000, fake_engine)
    seen = plain(text)
    assert TRUNCATED.match(seen) and "décrivez d'abord un besoin" in seen


# ---- the app's handlers (ui/chat.py) -----------------------------------------------------

CHATBOT = gr.Chatbot()


def _round_trip(history: list[dict]) -> list[dict]:
    """History as the browser sends it back (Gradio's Chatbot post- then pre-processing)."""
    return CHATBOT.preprocess(CHATBOT.postprocess(history))


def _text(message: dict) -> str:
    content = message["content"]
    return "".join(p["text"] for p in content) if isinstance(content, list) else content


def chat_turn(holder, history: list[dict], state: Conversation, message: str):
    """The three steps of the « Envoyer » button: _take, _chat, _show."""
    box, history, pending = chat._take(message, history)
    assert box == "" and pending == message
    shown = _text(history[-2])  # the user's own message: escaped, as typed, plain text
    assert_inert(shown)
    assert {tag for tag, _ in rendered(shown).elements} <= {"p", "br", "em"}, shown[:300]
    assert _text(history[-1]) == common.SEARCHING
    answer, state = chat._chat(holder, pending, state)
    outputs = chat._show(holder, answer, _round_trip(history), state)
    history, side = outputs[0], outputs[1:]
    assert _text(history[-1]) == answer and history[-1]["role"] == "assistant"
    assert not any(chat._is_searching(m) for m in history)
    assert isinstance(side[-1], str)
    assert_inert(side[-1])  # the active filters line
    return _round_trip(history), state, answer


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONVERSATION)
def test_chat_handlers_fuzz(fake_engine, messages):
    holder = common.EngineHolder(lambda: fake_engine)
    history: list[dict] = []
    state = Conversation()
    for message in messages:
        history, state, answer = chat_turn(holder, history, state, message)
        assert_french_answer(answer)
        assert_truncation_notice(message, answer)
        assert_usable(state, fake_engine)
    assert len(history) == 2 * len(messages)
    history, state, _ = chat_turn(holder, history, state, "retire les filtres")
    history, state, answer = chat_turn(holder, history, state, NEED)
    assert len(state.last_ids) >= 3 and "**Limites**" in answer


@pytest.mark.parametrize("size", [2_001, 4_500, 200_000])
def test_chat_cuts_long_messages_with_a_french_notice(fake_engine, size):
    holder = common.EngineHolder(lambda: fake_engine)
    message = ("jardin partagé " * (size // 15 + 1))[:size]
    history, state, answer = chat_turn(holder, [], Conversation(), message)
    counted = len(" ".join(message.split()))
    notice = (
        f"Texte très long ({counted:,} caractères) : seuls les 2 000 premiers ont été utilisés."
    ).replace(",", " ")
    assert plain(answer).startswith(notice)
    assert state.last_ids and len(state.base) <= MAX_QUERY_CHARS
    shown = _text(history[0])
    assert len(shown) <= MAX_QUERY_CHARS + 10 and shown.endswith(" …")  # the user's bubble


@pytest.mark.parametrize("message", ["", "   ", "\x00\x07\u200b\u202e", "🎉 <> ** []()", None])
def test_chat_handlers_empty_or_wordless(fake_engine, message):
    holder = common.EngineHolder(lambda: fake_engine)
    answer, state = chat._chat(holder, message, None)
    assert state == Conversation()
    assert plain(answer).startswith("Le besoin") and answer != common.UNEXPECTED


@pytest.mark.parametrize(
    "message",
    [
        "\t0",  # was an indented code block
        "Besoin\n===",  # was a heading
        "1. jardin\n2. ados",  # was a list
        "    indenté",
        "> citation\n# titre\n- puce",
        "<b>gras</b> | a | b |\n|---|---|",
        "ligne 1\n\n\nligne 2\x00\x1b[31m",
    ],
)
def test_the_users_message_is_shown_as_typed(message):
    _, history, _ = chat._take(message, [])
    shown = history[0]["content"]
    assert {tag for tag, _ in rendered(shown).elements} <= {"p", "br"}, shown
    expected = " ".join(message.replace("\x00", " ").replace("\x1b", " ").split())
    assert plain(shown) == expected
