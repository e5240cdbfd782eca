"""Cutting a record's « Limites » or « Perspectives » into statements: whole sentences only.

A statement is a sentence, or a line of a list. The cut never falls inside a quotation or
between parentheses, nor after an ellipsis followed by a lower-case word (« du centre...
chaque chose en son temps » is one sentence). What is left out:

- a heading made only of a quotation (« Après les Kdos, la Rencontre ... »), or a sentence
  whose quotation was cut (an ellipsis inside « … »);
- a statement too short to mean anything: fewer than two content words (« Après
  l'atelier ? », « plantation »). Consecutive list items that are each too short are joined
  into one statement instead (« Ateliers culinaires, plantation, entretien. »);
- non-statements, which say there is nothing to say: « Aucune limite », « à déterminer »,
  « toujours en cours », « les suites n'ont pas encore été décidées », « néant »…

A quote mark left without its pair (`Défi Mode"`) is removed, and so is a trailing comma or
colon. Nothing else is rewritten: the statement keeps its author's words and spelling.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from recommender.core.text import WORD

BULLET = re.compile(r"^\s*(?:[-•*–—·▪◦>]+|\d{1,2}[).]|[a-z][)])\s*")
_ABBREVIATIONS = frozenset({"ex", "etc", "cf", "env", "m", "mme", "mmes", "mr", "dr", "st", "ste"})
_OPENING = {"«": "»", "“": "”", "(": ")", "[": "]"}
_CLOSING = {v: k for k, v in _OPENING.items()}
_FUNCTION_WORDS = frozenset(
    " ".join(
        (
            "le la les un une des du de au aux et ou mais donc car ni or en dans par pour sur",
            "sous avec sans chez vers entre que qui quoi dont ce cet cette ces son sa ses leur",
            "leurs notre nos votre vos mon ma mes ne tres il elle ils elles on nous vous je tu",
            "se sont est etre ont avoir a y lors apres avant ici tout tous toute toutes",
        )
    ).split(" ")
)
MIN_CONTENT_WORDS = 2
# Whole statements that say there is nothing to say (accents folded, lower case). Matched at
# the start: « à déterminer lors du bilan » and « Aucune limite sur l'épicerie » are dropped,
# « Pas de coût de poste » is kept (a limit).
_NOTHING = re.compile(
    r"^(?:"
    r"aucune? (?:limite|perspective|difficulte|frein|probleme|suite)s?\b"
    r"|pas de (?:limite|perspective|difficulte|frein|probleme|suite)s?\b"
    r"|(?:a|en cours de) (?:determiner|definir|preciser|voir|construire)\b"
    r"|(?:toujours |encore )?en cours\b"
    r"|neant\b|ras\b|rien\b|sans objet\b|non renseigne|non connu|nc\b|n ?/ ?a\b"
    r"|(?:les )?suites? (?:n'ont|n'a|ne sont|non) (?:pas )?(?:encore )?(?:ete )?decide"
    r"|(?:a ce jour, )?il n'y a pas (?:de |d')(?:\w+ ){0,3}(?:prevu|envisage)"
    r"|action terminee\W*$"
    r")"
)


def fold(text: str) -> str:
    """Lower case, accents removed, typographic apostrophes made straight, spaces folded."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def content_words(text: str) -> list[str]:
    """Words that carry meaning: three letters or more (or a number), not a function word."""
    words = (fold(w) for w in WORD.findall(text))
    return [w for w in words if (len(w) >= 3 or w.isdigit()) and w not in _FUNCTION_WORDS]


def says_nothing(text: str) -> bool:
    """« Aucune limite », « à déterminer », « toujours en cours »…: not a statement."""
    return bool(_NOTHING.match(fold(text).strip(' -.!?:;,()"«»')))


def _sentences(line: str) -> list[str]:
    """Split one line at sentence ends outside quotations and parentheses."""
    out: list[str] = []
    depth: list[str] = []
    straight_open = False
    start = 0
    n = len(line)
    i = 0
    while i < n:
        c = line[i]
        if c in _OPENING:
            depth.append(_OPENING[c])
        elif c in _CLOSING and depth and depth[-1] == c:
            depth.pop()
        elif c == '"':
            straight_open = not straight_open
        elif c in ".!?…;" and not depth and not straight_open:
            j = i + 1
            while j < n and line[j] in ".!?…":
                j += 1
            if j < n and not line[j].isspace():
                i = j
                continue
            k = j
            while k < n and line[k].isspace():
                k += 1
            if k < n and _is_cut(line, start, i, j, k):
                out.append(line[start:j])
                start = k
            i = k
            continue
        i += 1
    out.append(line[start:])
    return [s.strip() for s in out if s.strip()]


def _is_cut(line: str, start: int, stop: int, after: int, nxt: int) -> bool:
    """Whether the punctuation at line[stop:after] ends a sentence (the next one at `nxt`)."""
    mark = line[stop:after]
    following = line[nxt]
    if mark == ";":
        return False  # a semicolon joins two halves of one sentence
    words = WORD.findall(line[start:stop])
    last = words[-1].lower() if words else ""
    glued = stop > 0 and line[stop - 1].isalnum()  # « etc.) » ends at the bracket
    if mark == "." and glued and (last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
        return False  # « ex. », « M. Dupont », an initial
    if mark in ("...", "…", "..") or len(mark) > 1:
        return following.isupper() or following.isdigit() or following in '«"“-'
    return not following.islower()


def _balance_quotes(text: str) -> str:
    """Remove quote marks and brackets left without their pair."""
    chars = list(text)
    stack: list[int] = []
    for i, c in enumerate(chars):
        if c in _OPENING:
            stack.append(i)
        elif c in _CLOSING:
            if stack and chars[stack[-1]] == _CLOSING[c]:
                stack.pop()
            else:
                chars[i] = ""
    for i in stack:
        chars[i] = ""
    straight = [i for i, c in enumerate(chars) if c == '"']
    if len(straight) % 2:
        # The unpaired mark is the one glued to a word on the wrong side, else the last one.
        lone = straight[-1]
        for i in straight:
            before = chars[i - 1] if i > 0 else " "
            after = chars[i + 1] if i + 1 < len(chars) else " "
            if before.strip() and not after.strip() and i == straight[0]:
                lone = i
                break
        chars[lone] = ""
    return " ".join("".join(chars).split())


_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"")


def _is_heading_or_cut_quote(text: str) -> bool:
    """A line made only of a quotation, or a quotation cut by an ellipsis."""
    inner = text.strip(" .:!?-")
    whole = _QUOTED.fullmatch(inner)
    if whole:
        return True
    return any(re.search(r"(\.\.\.|…)\s*[»”\"]$", q.group()) for q in _QUOTED.finditer(text))


def _tidy(text: str) -> str:
    text = _balance_quotes(text.strip())
    text = re.sub(r"\s*[,:]+$", "", text).strip()  # « … et les maraudes, » ends with a comma
    text = re.sub(r"(?<![.])\.\.$", ".", text)  # « d'année.. »
    return text


def meaningful(text: str) -> bool:
    return len(content_words(text)) >= MIN_CONTENT_WORDS


SHORT_ITEM_WORDS = 3


def _short_item(line: str) -> bool:
    """A list item of a few words without a sentence end (« plantation », « ateliers »)."""
    return len(WORD.findall(line)) <= SHORT_ITEM_WORDS and not re.search(r"[.!?…]\s", line)


def _lines(text: str) -> list[str]:
    """The field's lines, bullets removed; a run of two or more short list items (none of
    them a sentence) becomes one line, « Ateliers culinaires, plantation, entretien. »."""
    items = [(bool(BULLET.match(r)), BULLET.sub("", r).strip()) for r in text.splitlines()]
    items = [(bullet, line) for bullet, line in items if line]
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        if len(run) >= 2 and not all(meaningful(x) for x in run):
            joined = ", ".join(x.rstrip(".!;,") for x in run)
            out.append(joined[0].upper() + joined[1:] + ".")
        else:
            out.extend(run)
        run.clear()

    for bullet, line in items:
        if bullet and _short_item(line):
            run.append(line)
            continue
        close()
        out.append(line)
    close()
    return out


def statements(text: str) -> list[str]:
    """The statements of one field, in order (see the module docstring for the rules)."""
    out: list[str] = []
    for line in _lines(text or ""):
        for sentence in _sentences(line):
            if _is_heading_or_cut_quote(sentence):
                continue
            sentence = _tidy(sentence)
            if sentence and meaningful(sentence) and not says_nothing(sentence):
                out.append(sentence)
    return out


def clip(text: str, size: int) -> str:
    """At most `size` characters for a point: cut at the last clause boundary (« , », « ; »,
    « : », « ( ») that leaves most of the sentence, else between words, ended by « … »; a
    quote mark or bracket the cut leaves without its pair is removed."""
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    head = text[: size - 2]
    cut = max(head.rfind(mark) for mark in (", ", " ; ", " : ", " ("))
    if cut < size // 2:
        cut = head.rfind(" ")
    return _balance_quotes(head[:cut].rstrip(" ,;:(")) + " …"


@lru_cache(maxsize=65_536)
def cut(text: str) -> tuple[str, ...]:
    """`statements(text)`, remembered (the corpus views cut the same fields many times)."""
    return tuple(statements(text))
