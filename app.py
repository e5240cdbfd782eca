"""The web app (Gradio): describe a local need, see what other social centres did.

`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860).
Nothing heavy happens at import: the engine is loaded once per process (at launch in the
background, or on the first request) and shared, thread-safe; each browser session keeps
its own `Conversation` in a gr.State. The chat is also served as the API endpoint `/chat`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from embeddings import EncoderUnavailable
from recommender.answer import Card, card_markdown, md
from recommender.config import Settings
from recommender.conversation import Conversation, conversation_markdown, filters_line, reply
from recommender.feedback import FeedbackStore, Rating, feedback_path
from recommender.filters import Facet, Filters
from recommender.index import IndexInvalid
from recommender.projection import (
    ALL,
    SIDE_FACETS,
    MapPoint,
    action_label,
    action_map,
    browse,
    choice_value,
    chosen_values,
    facet_choices,
    legend_html,
    map_colours,
    map_rows,
    mask_result,
    record_markdown,
    table_rows,
)
from recommender.service import Engine, QueryError

log = logging.getLogger("reco.app")
EXAMPLES = (
    "Les mamans avec des bébés restent seules chez elles",
    "Des ados traînent le soir sans activité dans le quartier",
    "Aider les familles à faire leurs démarches en ligne",
    "Rompre l'isolement des personnes âgées à la campagne",
)
WELCOME = (
    "**Bonjour !** Décrivez en une ou deux phrases un besoin de votre territoire : "
    "**qui** est concerné, **où**, et **ce qui manque**. Je vous montre des actions "
    "menées par d'autres centres sociaux, avec leurs *limites* et leurs *perspectives*.\n\n"
    "Ensuite, précisez : « plutôt pour les ados », « en milieu rural », « seulement celles "
    "en cours », « dans le 62 », « plus comme la 2 », « montre la fiche 3 en entier » "
    "ou « recommence ». Exemples (cliquez) :"
)
# Bring the last user message to the top of the chat, so an answer is read from its start.
SCROLL = """() => { setTimeout(() => {
  const rows = document.querySelectorAll('#chat .user-row');
  const row = rows[rows.length - 1], wrap = row && row.closest('.bubble-wrap');
  if (wrap) wrap.scrollTop += row.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
}, 150); }"""
SEARCHING = "*Je cherche des actions proches…*"
UNEXPECTED = "Une erreur inattendue s'est produite. Réessayez ou reformulez votre besoin."
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
FORMATS = {"HTML": ".html", "Excel": ".xlsx", "CSV": ".csv", "Markdown": ".md"}
MAP_COLUMNS = ["x", "y", "Dimension", "Titre", "Structure", "Département"]
PRIVATE: dict[str, Any] = {"api_visibility": "private"}  # UI-only events: not in the API
TABLE_COLUMNS = ["Titre", "Structure", "Département", "Dimension", "Statut", "Identifiant"]


class EngineUnavailable(RuntimeError):
    """The engine cannot be loaded; the message (French) says what to do."""


class EngineHolder:
    """Loads the engine once per process, on first use; thread-safe; retried after a failure."""

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._points: list[MapPoint] | None = None

    def __call__(self) -> Engine:
        with self._lock:
            if self._engine is None:
                try:
                    self._engine = self._factory()
                except Exception as exc:  # shown to the user, never as a stack trace
                    log.exception("engine loading failed")
                    raise EngineUnavailable(_not_ready(exc)) from exc
            return self._engine

    def map_points(self) -> list[MapPoint]:
        """The 2-D map of the actions, computed once per process."""
        engine = self()
        with self._lock:
            if self._points is None:
                self._points = action_map(engine.index)
            return self._points

    def warm(self) -> threading.Thread:
        """Load the engine and encode one need in the background (fast first answer)."""

        def run() -> None:
            with contextlib.suppress(EngineUnavailable, QueryError):
                self().search(EXAMPLES[0])

        thread = threading.Thread(target=run, name="engine-warm-up", daemon=True)
        thread.start()
        return thread


def _not_ready(exc: Exception) -> str:
    """A French reason; library errors (index, encoder) already speak French."""
    if isinstance(exc, IndexInvalid | EncoderUnavailable):
        reason = str(exc)
    elif isinstance(exc, FileNotFoundError):
        reason = f"fichier introuvable : {exc.filename} (lancez `make run` ou `reco ingest`)"
    else:
        reason = "erreur au chargement (détails dans le journal du serveur)"
    return f"Le moteur de recherche n'est pas prêt : {reason}"


def _safely(default: Callable[[str], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn engine or unexpected errors of a handler into a French message."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (EngineUnavailable, QueryError) as exc:
                return default(md(str(exc)))
            except Exception:
                log.exception("handler %s failed", fn.__name__)
                return default(UNEXPECTED)

        return wrapper

    return decorate


# ---- chat ----------------------------------------------------------------------------------


def _take(message: str, history: list[dict]) -> tuple[str, list[dict], str]:
    """Show the user's message (escaped) and a « searching » line; keep the text to send."""
    shown = md(message if len(message) <= 2000 else message[:2000] + " …")
    history = [*history, {"role": "user", "content": shown}]
    return "", [*history, {"role": "assistant", "content": SEARCHING}], message


def _new_conversation() -> tuple[list[dict], Conversation, str, str]:
    return [], Conversation(), "", ""


def _take_clear(history: list[dict]) -> tuple[str, list[dict], str]:
    return "", [*history, {"role": "assistant", "content": SEARCHING}], "retire les filtres"


def _take_example(history: list[dict], evt: gr.SelectData) -> tuple[str, list[dict], str]:
    return _take(str(evt.value.get("text", "")), history)


def _chat(holder: EngineHolder, message: str, state: Conversation | None) -> tuple[str, Any]:
    state = state or Conversation()

    @_safely(lambda text: (text, state))
    def run() -> tuple[str, Conversation]:
        new_state, text = reply(state, message or "", holder())
        return text, new_state

    return run()


def _side(holder: EngineHolder, state: Conversation) -> list[Any]:
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
    return [history, *_side(holder, state or Conversation())]


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
    """The conversation's answers as Markdown, plus HTML when the report module offers it."""
    if not state or not state.turns:
        return None, "Rien à télécharger pour l'instant : décrivez d'abord un besoin."
    folder = Path(tempfile.mkdtemp(prefix="reco-conversation-"))
    files = [folder / "conversation.md"]
    files[0].write_text(conversation_markdown(state), encoding="utf-8")
    try:
        from recommender.report import conversation_html
    except ImportError:
        return [str(p) for p in files], "Résultats prêts (Markdown)."
    try:
        html = conversation_html(list(state.answers))
    except Exception:
        log.exception("conversation_html failed")
        return [str(p) for p in files], "Résultats prêts (Markdown ; la version HTML a échoué)."
    files.append(folder / "conversation.html")
    files[1].write_text(html, encoding="utf-8")
    return [str(p) for p in files], "Résultats prêts (HTML et Markdown)."


def _chat_tab(holder: EngineHolder, store: FeedbackStore) -> list[gr.Dropdown]:
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
        reset.then(partial(_side, holder), state, [*dropdowns, active], **PRIVATE)
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


def _no_text(text: str) -> str:
    return text


@_safely(lambda _: pd.DataFrame(columns=TABLE_COLUMNS))  # the banner says why it is empty
def _browse(holder: EngineHolder, text: str, mask: bool, *values: str) -> pd.DataFrame:
    filters = Filters()
    for facet, value in zip(SIDE_FACETS, values, strict=True):
        filters = filters.with_values(facet, chosen_values(value))
    actions = browse(holder().actions, text or "", filters)
    return pd.DataFrame(table_rows(actions, mask), columns=TABLE_COLUMNS)


def _row_id(evt: gr.SelectData) -> str | None:
    row = evt.row_value or []
    return str(row[-1]) if row else None


@_safely(_no_text)
def _open(holder: EngineHolder, action_id: str | None, mask: bool) -> str:
    action = holder().index.action(action_id or "")
    return record_markdown(action, mask=mask) if action else "*Choisissez une action.*"


@_safely(_no_text)
def _more(holder: EngineHolder, action_id: str | None, mask: bool) -> str:
    if not action_id:
        return "*Choisissez d'abord une action.*"
    result = holder().similar(action_id, top=5)
    result = mask_result(result) if mask else result
    cards = [card_markdown(Card(n, h)) for n, h in enumerate(result.hits, start=1)]
    return "\n\n---\n\n".join(["#### Actions les plus proches", *cards])


def _more_again(holder: EngineHolder, shown: str, action_id: str | None, mask: bool) -> str:
    """After the mask box changes, redo « plus comme ceci » only if it was on screen."""
    return _more(holder, action_id, mask) if shown else ""


def _compare(holder: EngineHolder, left: str | None, right: str | None, mask: bool):
    return _open(holder, left, mask), _open(holder, right, mask)


def _trainer_refresh(holder: EngineHolder, mask: bool, current: list[str | None]) -> list[Any]:
    """Facet choices, record pickers (labels masked or not) and the map."""
    try:
        engine = holder()
    except EngineUnavailable:
        return [gr.update() for _ in range(len(SIDE_FACETS) + 5)]
    actions = sorted(engine.actions, key=lambda a: a.title.casefold())
    labels = [(action_label(a, mask), a.id) for a in actions]
    facets = [gr.update(choices=facet_choices(actions, f)) for f in SIDE_FACETS]
    pickers = [gr.update(choices=labels, value=v) for v in current]
    points = holder.map_points()
    colours = map_colours(points)
    frame = pd.DataFrame(map_rows(points, mask), columns=MAP_COLUMNS)
    plot = gr.update(value=frame, color_map=colours)
    return [*facets, *pickers, plot, legend_html(colours)]


def _trainer_tab(holder: EngineHolder) -> tuple[gr.Checkbox, list[Any], list[Any]]:
    mask = gr.Checkbox(
        True, label="Masquer les données personnelles (e-mails, téléphones, prénoms)"
    )
    with gr.Row():
        text = gr.Textbox(label="Rechercher (titre, structure, résumé, mots-clés)", scale=2)
        facets = [gr.Dropdown([(ALL, ALL)], value=ALL, label=f.label) for f in SIDE_FACETS]
    table = gr.Dataframe(
        headers=TABLE_COLUMNS, interactive=False, wrap=True, max_height=360,
        column_widths=["30%", "26%", "12%", "12%", "8%", "12%"],
        latex_delimiters=[], label="Actions (cliquez sur une ligne pour ouvrir la fiche)",
        elem_id="actions",
    )  # fmt: skip
    with gr.Row():
        pick = gr.Dropdown([], label="Fiche ouverte", scale=3)
        more = gr.Button("Plus comme ceci", scale=1)
    with gr.Row():
        record, similar = gr.Markdown(), gr.Markdown()
    gr.Markdown("### Comparer deux actions")
    with gr.Row():
        left, right = gr.Dropdown([], label="Action A"), gr.Dropdown([], label="Action B")
    with gr.Row():
        left_md, right_md = gr.Markdown(), gr.Markdown()
    gr.Markdown("### Carte des actions\nChaque point est une action ; proches = semblables.")
    with gr.Column(elem_id="carte"):
        plot = gr.ScatterPlot(
            x="x", y="y", color="Dimension", tooltip=["Titre", "Structure", "Département"],
            x_title="Axe 1", y_title="Axe 2", height=560, label="Carte des actions",
            colors_in_legend=[],  # Gradio cuts its bottom legend off: ours is just below
        )  # fmt: skip
        legend = gr.HTML()
    browse_in = [text, mask, *facets]
    for trigger in (text.submit, text.change, mask.change, *(f.input for f in facets)):
        trigger(partial(_browse, holder), browse_in, table, **PRIVATE)
    table.select(_row_id, None, pick, **PRIVATE)
    pick.change(partial(_open, holder), [pick, mask], record, **PRIVATE)
    more.click(partial(_more, holder), [pick, mask], similar, **PRIVATE)
    for trigger in (left.change, right.change, mask.change):
        trigger(partial(_compare, holder), [left, right, mask], [left_md, right_md],
                **PRIVATE)  # fmt: skip
    refresh_out = [*facets, pick, left, right, plot, legend]
    mask.change(
        lambda m, *cur: _trainer_refresh(holder, m, list(cur)),
        [mask, pick, left, right], refresh_out, **PRIVATE,
    ).then(partial(_open, holder), [pick, mask], record, **PRIVATE).then(
        partial(_more_again, holder), [similar, pick, mask], similar, **PRIVATE,
    )  # fmt: skip
    return mask, [*browse_in], [table, *refresh_out]


# ---- batch report --------------------------------------------------------------------------


def _report(
    holder: EngineHolder,
    path: str | None,
    column: str,
    fmt: str,
    top: float,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to ask for a progress bar)
) -> tuple[Any, str]:
    try:
        from recommender.report import ReportError, read_needs, run_report
    except ImportError:
        return None, "Les rapports ne sont pas encore disponibles."
    if not path:
        return None, "Choisissez d'abord un fichier de besoins (.csv, .xlsx, .txt ou .jsonl)."
    source = Path(path)  # Gradio's own temporary copy of the upload
    if not source.is_file():
        return None, "Le fichier déposé est introuvable : déposez-le à nouveau."
    if source.stat().st_size > MAX_UPLOAD_BYTES:
        return None, "Fichier trop volumineux (plus de 10 Mo) : découpez-le en plusieurs fichiers."
    out = Path(tempfile.mkdtemp(prefix="reco-report-")) / f"rapport{FORMATS.get(fmt, '.html')}"

    def step(done: int, total: int) -> None:
        progress((done, total), desc="Besoins traités")

    try:
        needs = read_needs(source, (column or "").strip() or None)
        stats = run_report(holder(), needs, out, top=int(top), mask=True, progress=step)
    except (ReportError, QueryError, EngineUnavailable) as exc:
        return None, md(str(exc))
    except Exception:
        log.exception("report failed")
        return None, UNEXPECTED
    skipped = getattr(stats, "n_skipped", 0)
    note = f", {skipped} ligne(s) ignorée(s) (voir le rapport)" if skipped else ""
    return str(out), f"Rapport prêt : {getattr(stats, 'n_needs', '?')} besoin(s) traité(s){note}."


def _report_tab(holder: EngineHolder) -> None:
    gr.Markdown(
        "Déposez un fichier de besoins (un besoin par ligne pour un .txt ; une colonne "
        "« besoin » pour un tableau) : chaque besoin reçoit ses actions proches. 10 Mo maximum."
    )
    with gr.Row():
        upload = gr.File(
            label="Fichier de besoins", file_types=[".csv", ".xlsx", ".txt", ".jsonl"],
            type="filepath",
        )  # fmt: skip
        with gr.Column():
            column = gr.Textbox(label="Colonne des besoins (facultatif)", placeholder="besoin")
            fmt = gr.Radio(list(FORMATS), value="HTML", label="Format du rapport")
            top = gr.Slider(1, 10, value=5, step=1, label="Actions par besoin")
            go = gr.Button("Générer le rapport", variant="primary")
    status = gr.Markdown()
    result = gr.File(label="Rapport à télécharger")
    go.click(
        partial(_report, holder), [upload, column, fmt, top], [result, status],
        **PRIVATE,
    )  # fmt: skip


# ---- app -----------------------------------------------------------------------------------


def build_app(
    engine_factory: Callable[[], Engine], store: FeedbackStore | None = None
) -> gr.Blocks:
    """The whole interface; the engine is only loaded when first needed."""
    holder = engine_factory if isinstance(engine_factory, EngineHolder) else None
    holder = holder or EngineHolder(engine_factory)
    store = store or FeedbackStore(feedback_path())
    with gr.Blocks(title="Actions des centres sociaux") as demo:
        gr.Markdown("# Actions des centres sociaux\nTrouver des idées menées ailleurs.")
        banner = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("Discuter"):
                side = _chat_tab(holder, store)
            with gr.Tab("Formateurs"):
                mask, browse_in, trainer_out = _trainer_tab(holder)
            with gr.Tab("Rapport"):
                _report_tab(holder)
        demo.load(
            partial(_on_load, holder), [mask, *browse_in],
            [banner, *side, *trainer_out], **PRIVATE,
        )  # fmt: skip
    return demo


def _on_load(holder: EngineHolder, mask: bool, *browse_values: Any) -> list[Any]:
    """Fill the dropdowns, the table and the map; or say why the engine is not there."""
    try:
        holder()
        chat_side = _side(holder, Conversation())[:-1]
        table = _browse(holder, *browse_values[:1], mask, *browse_values[2:])
        return ["", *chat_side, table, *_trainer_refresh(holder, mask, [None, None, None])]
    except Exception as exc:
        if not isinstance(exc, EngineUnavailable):
            log.exception("page load failed")
        message = md(str(exc)) if isinstance(exc, EngineUnavailable) else UNEXPECTED
        return [f"**{message}**", *[gr.update() for _ in range(len(SIDE_FACETS) * 2 + 7)]]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    holder = EngineHolder(lambda: Engine.load(Settings.from_env()))
    holder.warm()
    demo = build_app(holder)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False,
        max_file_size="50mb",
        footer_links=["api"],
    )


if __name__ == "__main__":
    main()
