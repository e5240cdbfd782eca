"""Where an app start goes: imports, engine, first answer, model switch (fresh process).

Run as `python -m bench.startup` with RECO_* variables set; prints one JSON object of
seconds since the interpreter started its main module.
"""

from __future__ import annotations

import json
import time

STARTED = time.perf_counter()


def _since() -> float:
    return round(time.perf_counter() - STARTED, 3)


def main() -> None:
    marks: dict[str, float] = {}
    import app

    preload = app.preload_query_encoders()  # as app.main() does, before Gradio
    import ui.interface  # noqa: F401  (the app's first heavy import: Gradio)

    marks["import gradio (encodeur des requêtes chargé en parallèle)"] = _since()
    from recommender.answers.answer import answer_markdown, compose
    from recommender.search.need import understand

    engine = app.serving_engine()
    marks["moteur chargé (index, glossaire)"] = _since()
    preload.join()
    marks["encodeur des requêtes prêt"] = _since()
    text = "Les mamans avec des bébés restent seules chez elles"
    answer_markdown(compose(engine.search(text), understand(text, engine.actions)))
    marks["1re réponse composée"] = _since()
    print(json.dumps(marks, ensure_ascii=False))


if __name__ == "__main__":
    main()
