"""Source des étiquettes du jeu d'évaluation (génère queries.json).
q(kind, split, requête, [ids note 2], [ids note 1]) ; ids sans le préfixe "act-".
Étiquettes posées à la main (lecture intégrale + grep), voir README.md.
Relancer : python build_queries.py && python validate.py
"""

import json
import pathlib

Q = []


def q(kind, split, query, two=(), one=()):
    rel = {("act-" + i): 2 for i in two}
    for i in one:
        k = "act-" + i
        if k in rel:
            raise ValueError(f"{k} graded twice for {query!r}")
        rel[k] = 1
    Q.append({"query": query, "relevant": rel, "split": split, "kind": kind})


# ---------------- LONG ----------------
q(
    "long",
    "dev",
    "Dans notre quartier, beaucoup de mamans avec des bébés restent seules chez elles toute la journée. On voudrait leur proposer un lieu pour se rencontrer et jouer avec leurs tout-petits.",
    ["6a426675b6", "99be6b2f25", "e965e67107", "81b34cd36e"],
    ["6dd00f65ec", "a24532936f", "1097890096"],
)
q(
    "long",
    "test",
    "Des parents d'adolescents nous disent qu'ils sont dépassés : disputes à la maison, crises de colère, ils ne savent plus comment parler avec leurs ados. Qu'est-ce qu'on peut leur proposer ?",
    ["535c77db3f", "f7a11cee9f"],
    ["2c62f7666c", "1097890096"],
)
q(
    "long",
    "dev",
    "Des jeunes de 16 à 25 ans ont quitté l'école sans diplôme et ne sont suivis par personne. On voudrait un lieu pour les accueillir et les aider à construire un projet : formation, CV, permis.",
    ["b8af2fb42c", "bc1a1d3433", "e1d8284823"],
    ["f6829a8519", "95316078a8", "23d0ba1212"],
)
q(
    "long",
    "dev",
    "Au collège, des filles de 12-15 ans ne font plus aucun sport et ont une mauvaise image d'elles-mêmes. Les familles et les profs nous demandent de faire quelque chose avec elles.",
    ["c3a8c495f6"],
    ["753c022279", "23d0ba1212", "1117bc0aa1"],
)
q(
    "long",
    "test",
    "Depuis la crise sanitaire, les grands-parents se sentent éloignés de leurs petits-enfants et isolés. On cherche des activités qui les réunissent avec les enfants.",
    ["1e76e581ff", "2dd9b87bd1"],
    [
        "81b34cd36e",
        "6dd00f65ec",
        "f544a5638a",
        "7b6e17fdb8",
        "8369bd5837",
        "d5f2273415",
        "149b379b65",
    ],
)
q(
    "long",
    "dev",
    "Beaucoup de familles du quartier ont peu de moyens et les enfants sont en surpoids, la PMI nous a alertés. On voudrait apprendre aux parents à cuisiner équilibré sans dépenser plus.",
    ["a24532936f", "0f70d323b1"],
    ["a21c2ca8f2"],
)
q(
    "long",
    "dev",
    "Depuis le confinement, des habitants vont mal : angoisse, mal-être, certains ne sortent plus. Ils n'iront jamais consulter un psy. On aimerait leur proposer une écoute de proximité.",
    ["1a18ccca9a", "3779a92292"],
    ["297592c284", "29d036f2f6", "1117bc0aa1", "c0d370bef5"],
)
q(
    "long",
    "test",
    "Des habitants jettent des meubles et des appareils encore utilisables. On voudrait un lieu où des bénévoles bricoleurs réparent les objets et leur donnent une seconde vie.",
    ["42f9c03890", "880f999d3e"],
    ["53063b5f2d", "b4b7ab65ed", "275d23f757"],
)
q(
    "long",
    "dev",
    "Dans la commune il y a des tensions et des préjugés entre habitants de religions différentes. On voudrait organiser un temps d'échange sur la laïcité avec les jeunes et les familles.",
    ["94c31dac46"],
    ["1d724d66d8", "daf23ed419", "ebbd1109e3"],
)
q(
    "long",
    "dev",
    "L'été, beaucoup de familles ne partent pas en vacances et restent enfermées dans leurs appartements. On voudrait animer le bas des immeubles en juillet avec des jeux, des transats, des goûters.",
    ["fcff86bb80"],
    ["d5f2273415", "33ef4e9c37", "b1eb264356", "aec9c0dfab"],
)
q(
    "long",
    "test",
    "Les familles du quartier ne vont jamais au spectacle, elles pensent que ce n'est pas pour elles. On voudrait faire découvrir le théâtre, le cirque ou la danse aux enfants avec leurs parents.",
    ["e412d9955c", "3ac4587b6e"],
    ["2dd9b87bd1", "c0d370bef5", "207ca6ad3c"],
)
q(
    "long",
    "dev",
    "Des adultes au chômage depuis longtemps ont perdu confiance en eux, ils n'osent plus rien entreprendre. Avant de parler d'emploi, on voudrait d'abord les remobiliser.",
    ["c6c88b0080", "1117bc0aa1"],
    ["95316078a8", "e1d8284823", "01cc4ff1c5"],
)
q(
    "long",
    "dev",
    "Plusieurs femmes du quartier nous confient subir des violences conjugales et avoir peur dans l'espace public. Comment les aider à reprendre confiance et à savoir se défendre ?",
    ["753c022279"],
    ["1117bc0aa1"],
)
q(
    "long",
    "dev",
    "Des adultes du quartier ne savent pas bien lire ni écrire : ils ne comprennent pas leurs courriers et n'arrivent pas à remplir un formulaire. Ils ont honte d'en parler.",
    ["01cc4ff1c5"],
    ["3eeef43012", "e1d8284823", "4ec3711a2d"],
)
q(
    "long",
    "test",
    "À côté du village il y a un foyer pour adultes en situation de handicap. Les résidents ne participent jamais à la vie locale et les habitants ne les connaissent pas.",
    ["4766a7c132"],
    ["daf23ed419", "645e177d84"],
)
q(
    "long",
    "dev",
    "Avec la crise, on sent que les habitants ont besoin de parler. On voudrait aller à leur rencontre en bas des immeubles autour d'un café, avec une vraie posture d'écoute, entendre aussi ce qui n'est pas dit.",
    ["297592c284"],
    ["33ef4e9c37", "1a18ccca9a", "c0d370bef5", "29d036f2f6", "3779a92292"],
)
q(
    "long",
    "test",
    "Notre quartier accueille beaucoup de nouvelles familles qui ne connaissent personne. On aimerait organiser un moment convivial pour qu'elles rencontrent leurs voisins et découvrent le centre social.",
    ["b1eb264356"],
    ["36b7fc3b79", "3152be8327", "3f0c31c0ba", "f8200161c6", "ea6488b831"],
)
q(
    "long",
    "dev",
    "Une habitante s'occupe seule de son mari atteint d'Alzheimer, elle est épuisée et ne sort plus. On cherche comment soulager ces aidants quelques heures par semaine.",
    ["d0693eaa53"],
    [],
)
q(
    "long",
    "dev",
    "Des familles voudraient réduire leurs poubelles mais ne savent pas par où commencer. On aimerait les accompagner sur plusieurs mois avec des ateliers pratiques.",
    ["d1bce35d59", "37465c1c4f"],
    ["79e66b3a07", "e265f28638", "b4b7ab65ed", "42f9c03890"],
)
q(
    "long",
    "test",
    "Pendant le confinement, les personnes âgées isolées ne pouvaient plus venir au centre. Comment garder le lien avec elles et leur apporter un peu de joie chez elles ?",
    ["87969b718a", "c0d370bef5"],
    ["29d036f2f6", "297592c284", "22da3a6102", "3779a92292"],
)

# ---------------- SHORT ----------------
q("short", "dev", "aide aux devoirs", ["3548d9c6e3"], ["b8af2fb42c"])
q(
    "short",
    "dev",
    "fête de quartier",
    ["36b7fc3b79", "3152be8327", "b1eb264356", "ea6488b831"],
    ["fcff86bb80", "0993f9b4e5", "e087a231a7", "2e9b2a2eec"],
)
q(
    "short",
    "test",
    "échanges entre parents sur leurs difficultés éducatives",
    ["535c77db3f", "1097890096"],
    ["f7a11cee9f"],
)
q("short", "dev", "jardin partagé", ["ec93b07635", "d783feb804", "880f999d3e"], ["18acbc7057"])
q(
    "short",
    "dev",
    "sorties nature en famille",
    ["be4d64fd96", "149b379b65"],
    ["aec9c0dfab", "d5f2273415", "8609155ca7"],
)
q(
    "short",
    "test",
    "scène ouverte pour les talents des habitants",
    ["325e9d7d41", "2e9b2a2eec"],
    ["3f0c31c0ba"],
)
q(
    "short",
    "dev",
    "lecture à voix haute pour les enfants",
    ["083bfe81fe"],
    ["c0d370bef5", "f544a5638a", "044e141c86"],
)
q("short", "dev", "égalité femmes hommes", ["753c022279"], ["c3a8c495f6", "23d0ba1212"])
q(
    "short",
    "test",
    "repas de fin d'année pour les personnes seules",
    ["1b67595809"],
    ["880f999d3e", "53063b5f2d"],
)
q("short", "dev", "fabrication de masques en tissu par des bénévoles", ["c888f24bcd"], [])
q(
    "short",
    "test",
    "embellir les halls d'immeuble avec les habitants",
    ["c2164f1870"],
    ["044e141c86"],
)
q(
    "short",
    "dev",
    "premier départ en vacances en famille",
    ["d5f2273415"],
    ["aec9c0dfab", "b8af2fb42c"],
)
q("short", "dev", "des poules au centre social", ["624e9860e4"], ["79e66b3a07"])
q(
    "short",
    "test",
    "activité physique pour les seniors",
    ["ad08c31c1f"],
    ["0f70d323b1", "22da3a6102"],
)
q(
    "short",
    "dev",
    "projet de séjour préparé par les ados",
    ["9261fbba1a"],
    ["18adadc826", "bc1a1d3433", "380e7e5227", "d5f2273415"],
)
q(
    "short",
    "dev",
    "missions d'intérêt général pour les ados en échange de loisirs",
    ["18adadc826"],
    ["9261fbba1a", "b1eb264356"],
)
q("short", "dev", "initiation à la pêche pour petits et grands", ["8609155ca7"], [])
q(
    "short",
    "dev",
    "atelier confiance en soi pour adultes",
    ["1117bc0aa1"],
    ["753c022279", "c6c88b0080", "01cc4ff1c5"],
)
q("short", "test", "livres sur l'éducation à emprunter pour les parents", ["b93b3c6762"], [])
q("short", "dev", "passer le BAFA", [], ["d5f2273415", "95316078a8"])
q(
    "short",
    "test",
    "vêtements gratuits pour les familles",
    ["275d23f757", "880f999d3e"],
    ["53063b5f2d", "33ef4e9c37"],
)
q(
    "short",
    "test",
    "boîtes solidaires de Noël pour les personnes isolées",
    [],
    ["87969b718a", "1b67595809", "53063b5f2d", "880f999d3e"],
)
q(
    "short",
    "dev",
    "paniers solidaires de produits locaux à tarif social",
    ["603c7cb295"],
    ["880f999d3e", "d783feb804"],
)
q("short", "dev", "atelier mécanique pour réparer sa voiture soi-même", [], ["880f999d3e"])

# ---------------- TYPO ----------------
q(
    "typo",
    "dev",
    "isolemant des personnes agées",
    ["7b6e17fdb8", "8369bd5837", "87969b718a"],
    ["c0d370bef5", "ad08c31c1f", "22da3a6102", "d0693eaa53", "3779a92292", "f544a5638a"],
)
q("typo", "test", "carnavale avec les enfant de la commune", ["0993f9b4e5"], ["fafef4d64a"])
q(
    "typo",
    "dev",
    "cours de francais pour les mamans qui parle pas bien francais",
    ["3eeef43012"],
    ["01cc4ff1c5", "1d724d66d8", "ebbd1109e3"],
)
q(
    "typo",
    "test",
    "insertion profesionelle emplois aidés et formation diplomante",
    ["95316078a8"],
    ["c6c88b0080", "e1d8284823", "bc1a1d3433"],
)
q(
    "typo",
    "dev",
    "atelier cuisine equilibré petit budjet",
    ["0f70d323b1", "a24532936f"],
    ["a21c2ca8f2"],
)
q(
    "typo",
    "dev",
    "sortie culturel pour les senior isolé",
    ["7b6e17fdb8"],
    ["87969b718a", "c0d370bef5"],
)
q(
    "typo",
    "dev",
    "atelier theatre parent enfant pendant les vacance",
    ["2dd9b87bd1"],
    ["207ca6ad3c", "1e76e581ff", "aec9c0dfab"],
)
q(
    "typo",
    "dev",
    "compostage colectif dans la residence",
    ["79e66b3a07", "e265f28638"],
    ["d783feb804", "624e9860e4", "d1bce35d59"],
)
q(
    "typo",
    "test",
    "repas partager cuisine du monde entre habitants",
    ["f8200161c6"],
    ["207ca6ad3c", "ebbd1109e3"],
)
q("typo", "dev", "mettre une boite a livre en acces libre dans le parc", ["044e141c86"], [])
q(
    "typo",
    "dev",
    "trok et don d'objet gratuit avant noel",
    ["53063b5f2d", "880f999d3e"],
    ["275d23f757"],
)
q(
    "typo",
    "test",
    "ateliers informatique pour personne agée tablette",
    ["4ec3711a2d", "645e177d84"],
    ["e1d8284823"],
)

# ---------------- ACRONYM / jargon ----------------
q(
    "acronym",
    "test",
    "ouvrir un LAEP pour les 0-3 ans et leurs parents",
    ["99be6b2f25", "e965e67107", "6a426675b6"],
    ["6dd00f65ec", "81b34cd36e", "1097890096"],
)
q("acronym", "test", "CLAS pour collégiens avec des bénévoles", ["3548d9c6e3"], ["b8af2fb42c"])
q(
    "acronym",
    "dev",
    "REAAP : ateliers parents-enfants pour les familles avec enfants de primaire",
    ["1e76e581ff", "aec9c0dfab", "2dd9b87bd1", "207ca6ad3c"],
    ["81b34cd36e", "6dd00f65ec", "d5f2273415"],
)
q(
    "acronym",
    "dev",
    "EVS en milieu rural : créer un lieu convivial où les habitants du village se retrouvent",
    ["3f0c31c0ba"],
    ["325e9d7d41", "33ef4e9c37", "4766a7c132"],
)
q(
    "acronym",
    "test",
    "animations de rue pour les jeunes en QPV qui ne fréquentent aucune structure",
    ["f6829a8519", "b8af2fb42c"],
    ["33ef4e9c37", "23d0ba1212"],
)
q(
    "acronym",
    "dev",
    "pendant l'ALSH l'été, les parents ne partagent aucun loisir avec leurs enfants",
    ["d5f2273415"],
    ["aec9c0dfab", "1e76e581ff"],
)
q(
    "acronym",
    "test",
    "journée prévention santé avec la CPAM et la PMI au pied des immeubles",
    ["f0a318f31d"],
    ["2c62f7666c", "0f70d323b1", "29d036f2f6"],
)
q(
    "acronym",
    "dev",
    "aider les habitants dans leurs démarches CAF en ligne, dématérialisation",
    ["645e177d84", "4ec3711a2d"],
    ["e1d8284823", "29d036f2f6"],
)
q(
    "acronym",
    "dev",
    "accompagnement des bénéficiaires du RSA orientés par le CCAS",
    ["c6c88b0080"],
    ["95316078a8", "e1d8284823"],
)
q("acronym", "test", "accueil de jour Alzheimer en partenariat avec un EHPAD", ["d0693eaa53"], [])
q(
    "acronym",
    "dev",
    "démarche d'aller vers les habitants qui ne viennent jamais au centre social",
    ["33ef4e9c37", "297592c284", "f6829a8519", "c0d370bef5"],
    [
        "1a18ccca9a",
        "f0a318f31d",
        "22da3a6102",
        "880f999d3e",
        "29d036f2f6",
        "87969b718a",
        "e1d8284823",
    ],
)
q(
    "acronym",
    "dev",
    "la référente famille veut accompagner des parents qui montent eux-mêmes un projet collectif",
    ["2a45705e14", "275d23f757"],
    ["d5f2273415", "fafef4d64a", "ad08c31c1f"],
)
q(
    "acronym",
    "dev",
    "FLE et préparation à l'entretien de naturalisation",
    ["1d724d66d8"],
    ["3eeef43012"],
)
q(
    "acronym",
    "dev",
    "précarité alimentaire : monter une épicerie sociale avec le CCAS",
    ["603c7cb295"],
    ["ebbd1109e3", "880f999d3e"],
)
q(
    "acronym",
    "test",
    "conseil citoyen et NPNRU : faire participer les habitants à la rénovation urbaine",
    ["380e7e5227"],
    ["3152be8327", "c2164f1870"],
)

# ---------------- NOMATCH ----------------
q(
    "nomatch",
    "dev",
    "Plusieurs enfants du quartier ont un papa ou une maman en prison. Les familles voudraient être soutenues pour garder le lien et préparer les visites au parloir.",
)
q("nomatch", "dev", "invasion de punaises de lit dans les logements")
q(
    "nomatch",
    "test",
    "Beaucoup d'enfants du quartier ne savent pas nager et il y a eu une noyade l'été dernier. On voudrait organiser l'apprentissage de la natation.",
)
q("nomatch", "dev", "pédibus pour accompagner les enfants à l'école à pied")
q(
    "nomatch",
    "test",
    "Des mères seules travaillent tôt le matin ou tard le soir dans le nettoyage et n'ont aucune solution de garde pour leurs enfants à ces horaires.",
)
q("nomatch", "dev", "prévention des incendies et du monoxyde de carbone dans les logements")
q("nomatch", "test", "organiser une collecte de don du sang")
q(
    "nomatch",
    "dev",
    "Des habitants s'inquiètent de la pollution de l'air près de l'autoroute et voudraient mesurer eux-mêmes la qualité de l'air avec des capteurs.",
)

OUT = pathlib.Path(__file__).resolve().parent / "queries.json"
OUT.write_text(json.dumps(Q, ensure_ascii=False, indent=1), encoding="utf-8")
print(len(Q))
