"""Where an app start goes: imports, engine loading, first answer (in a fresh process).

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
    import sentence_transformers  # noqa: F401  (torch, transformers)

    marks["import sentence-transformers / torch"] = _since()
    from embeddings.base import TextKind
    from recommender.answer import answer_markdown, compose
    from recommender.config import Settings
    from recommender.need import understand
    from recommender.service import Engine

    engine = Engine.load(Settings.from_env())
    marks["Engine.load (index, glossaire)"] = _since()
    engine.recommender.encoders[0].encode(["échauffement"], TextKind.QUERY)
    marks["chargement du modèle (1er encodage)"] = _since()
    text = "Les mamans avec des bébés restent seules chez elles"
    answer_markdown(compose(engine.search(text), understand(text, engine.actions)))
    marks["première réponse composée"] = _since()
    print(json.dumps(marks, ensure_ascii=False))


if __name__ == "__main__":
    main()
