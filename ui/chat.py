"""The « Discuter » tab: chat, side filters, rating and download."""

from __future__ import annotations

import logging
import re
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from recommender.answers.conversation import (
    Conversation,
    conversation_markdown,
    filters_line,
    reply,
)
from recommender.answers.feedback import FeedbackStore, Rating
from recommender.answers.projection import (
    ALL,
    SIDE_FACETS,
    choice_value,
    chosen_values,
    facet_choices,
)
from recommender.core.text import md
from recommender.reports.report import conversation_html
from recommender.search.filters import Facet
from ui.common import (
    EXAMPLES,
    PRIVATE,
    SCROLL,
    SEARCHING,
    WELCOME,
    EngineHolder,
    EngineUnavailable,
    safely,
    with_notice,
)

log = logging.getLogger("reco.app")
MAX_SHOWN = 2000  # characters of the user's message shown in the chat


def _take(message: str, history: list[dict]) -> tuple[str, list[dict], str]:
    """Show the user's message (escaped) and a « searching » line; keep the text to send."""
    history = [*history, {"role": "user", "content": _as_typed(message)}]
    return "", [*history, {"role": "assistant", "content": SEARCHING}], message


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LIST_START = re.compile(r"^(\d+)\.")  # « 1. » would start a list (md leaves dots alone)


def _as_typed(message: str) -> str:
    """The user's message as plain text: escaped, line breaks kept, never a heading, list
    or code block (indented lines); very long messages are cut (the answer says so)."""
    cut = message if len(message) <= MAX_SHOWN else message[:MAX_SHOWN] + " …"
    lines = [md(_CONTROL.sub(" ", line).strip()) for line in cut.splitlines()]
    lines = [_LIST_START.sub(r"\1\\.", line) for line in lines if line]
    # « === » under a line would make it a heading
    shown = "  \n".join("\\" + line if line.startswith("=") else line for line in lines)
    return shown or "*(message vide)*"


def _new_conversation() -> tuple[list[dict], Conversation, str, str]:
    return [], Conversation(), "", ""


def _take_clear(history: list[dict]) -> tuple[str, list[dict], str]:
    return "", [*history, {"role": "assistant", "content": SEARCHING}], "retire les filtres"


def _take_example(history: list[dict], evt: gr.SelectData) -> tuple[str, list[dict], str]:
    return _take(str(evt.value.get("text", "")), history)


def _chat(holder: EngineHolder, message: str, state: Conversation | None) -> tuple[str, Any]:
    state = state or Conversation()

    @safely(lambda text: (text, state))
    def run() -> tuple[str, Conversation]:
        served = holder.served()
        new_state, text = reply(state, message or "", served.engine)
        return with_notice(served.notice, text), new_state

    return run()


def side_values(holder: EngineHolder, state: Conversation) -> list[Any]:
    """Dropdown updates (choices with counts, current values) and the active-filters line."""
    try:
        actions = holder().actions
    except EngineUnavailable:
        return [gr.update() for _ in SIDE_FACETS] + [filters_line(state.filters)]
    updates = []
    for facet in SIDE_FACETS:
        values = getattr(state.filters, facet.value)
        choices = facet_choices(actions, facet, values)
        updates.append(gr.update(choices=choices, value=choice_value(values)))
    return [*updates, filters_line(state.filters) or "*Aucun filtre actif.*"]


def _is_searching(message: dict) -> bool:
    content = message.get("content")
    parts = content if isinstance(content, list) else [content]
    return any(
        p == SEARCHING or (isinstance(p, dict) and p.get("text") == SEARCHING) for p in parts
    )


def _show(holder: EngineHolder, answer: str, history: list[dict], state: Conversation) -> list:
    """The answer replaces its « searching » line (the last one), or comes last."""
    waiting = [i for i, m in enumerate(history) if _is_searching(m)]
    history = list(history)
    if waiting:
        del history[waiting[-1]]
    history.insert(
        waiting[-1] if waiting else len(history), {"role": "assistant", "content": answer}
    )
    return [history, *side_values(holder, state or Conversation())]


def _set_filter(facet: Facet, value: str, state: Conversation | None) -> tuple[Any, str]:
    state = (state or Conversation()).with_filter(facet, chosen_values(value))
    return state, filters_line(state.filters) or "*Aucun filtre actif.*"


def _rate(store: FeedbackStore, useful: bool, comment: str, state: Conversation | None):
    if not state or not state.turns:
        return "Il n'y a pas encore de réponse à évaluer : décrivez d'abord un besoin.", comment
    turn = state.turns[-1]
    ids = tuple(c.action.id for c in turn.answer.cards)
    saved = store.add(Rating(turn.query, turn.filters.to_dict(), ids, useful, comment or ""))
    return md(saved.message), "" if saved.ok else comment


def _download(state: Conversation | None) -> tuple[Any, str]:
    """The conversation's answers as Markdown and as a self-contained HTML page."""
    if not state or not state.turns:
        return None, "Rien à télécharger pour l'instant : décrivez d'abord un besoin."
    folder = Path(tempfile.mkdtemp(prefix="reco-conversation-"))
    files = [folder / "conversation.md"]
    files[0].write_text(conversation_markdown(state), encoding="utf-8")
    try:
        html = conversation_html(list(state.answers))
    except Exception:
        log.exception("conversation_html failed")
        return [str(p) for p in files], "Résultats prêts (Markdown ; la version HTML a échoué)."
    files.append(folder / "conversation.html")
    files[1].write_text(html, encoding="utf-8")
    return [str(p) for p in files], "Résultats prêts (HTML et Markdown)."


def chat_tab(holder: EngineHolder, store: FeedbackStore) -> list[gr.Dropdown]:
    state = gr.State(Conversation())
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                show_label=False,
                elem_id="chat",
                autoscroll=False,  # SCROLL shows the start of each answer instead of its end
                height=640,
                placeholder=WELCOME,
                examples=[{"text": e} for e in EXAMPLES],
                feedback_options=None,
                latex_delimiters=[],
                buttons=["copy"],
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Décrivez le besoin : qui, où, ce qui manque…",
                    show_label=False,
                    lines=2,
                    max_lines=8,
                    scale=5,
                    elem_id="besoin",
                )
                send = gr.Button("Envoyer", variant="primary", scale=1, elem_id="envoyer")
            rating = _rating_row(store, state)
        with gr.Column(scale=1, min_width=260):
            dropdowns, active, clear = _side_panel(state)
            new = gr.Button("Nouvelle conversation")
            download = gr.Button("Télécharger les résultats")
            files = gr.File(label="Résultats", file_count="multiple", visible=False)
            done = gr.Markdown()
    pending = gr.Textbox(visible=False, label="message")
    answer = gr.Markdown(visible=False)
    _wire_chat(holder, (box, chatbot, pending, answer, state), [*dropdowns, active], send, clear)
    for reset in (
        new.click(_new_conversation, None, [chatbot, state, rating, done], **PRIVATE),
        chatbot.clear(_new_conversation, None, [chatbot, state, rating, done], **PRIVATE),
    ):
        reset.then(partial(side_values, holder), state, [*dropdowns, active], **PRIVATE)
    download.click(_download, state, [files, done], **PRIVATE).then(
        lambda f: gr.update(visible=bool(f)), files, files, **PRIVATE
    )
    return dropdowns


def _wire_chat(
    holder: EngineHolder,
    parts: tuple[Any, ...],
    side: list[Any],
    send: gr.Button,
    clear: gr.Button,
) -> None:
    """Every way of sending goes through the same three steps; only one is the API."""
    box, chatbot, pending, answer, state = parts
    taken = [box, chatbot, pending]
    starts = [
        box.submit(_take, [box, chatbot], taken, queue=False, **PRIVATE),
        send.click(_take, [box, chatbot], taken, queue=False, **PRIVATE),
        chatbot.example_select(_take_example, chatbot, taken, queue=False, **PRIVATE),
        clear.click(_take_clear, chatbot, taken, queue=False, **PRIVATE),
    ]
    for n, start in enumerate(starts):
        chat = {"api_name": "chat"} if n == 0 else PRIVATE  # one public endpoint: /chat
        start.then(None, js=SCROLL, **PRIVATE)
        answered = start.then(partial(_chat, holder), [pending, state], [answer, state], **chat)
        show = partial(_show, holder)
        shown = answered.then(show, [answer, chatbot, state], [chatbot, *side], **PRIVATE)
        shown.then(None, js=SCROLL, **PRIVATE)


def _side_panel(state: gr.State) -> tuple[list[gr.Dropdown], gr.Markdown, gr.Button]:
    gr.Markdown("### Filtres\nAppliqués aux prochaines réponses.")
    dropdowns = [gr.Dropdown([(ALL, ALL)], value=ALL, label=f.label) for f in SIDE_FACETS]
    active = gr.Markdown("*Aucun filtre actif.*")
    clear = gr.Button("Retirer les filtres")
    for facet, dropdown in zip(SIDE_FACETS, dropdowns, strict=True):
        dropdown.input(
            partial(_set_filter, facet), [dropdown, state], [state, active],
            **PRIVATE,
        )  # fmt: skip
    return dropdowns, active, clear


def _rating_row(store: FeedbackStore, state: gr.State) -> gr.Markdown:
    with gr.Accordion("Cette réponse vous a-t-elle aidé ?", open=True):
        with gr.Row():
            useful = gr.Button("Oui, utile", size="sm")
            useless = gr.Button("Non, pas utile", size="sm")
            comment = gr.Textbox(placeholder="Commentaire (facultatif)", show_label=False, scale=3)
        status = gr.Markdown()
    for button, value in ((useful, True), (useless, False)):
        button.click(
            partial(_rate, store, value), [comment, state], [status, comment],
            **PRIVATE,
        )  # fmt: skip
    return status


# ---- trainers ------------------------------------------------------------------------------
