"""Personal data masking."""

from __future__ import annotations

import pytest

from recommender.records.privacy import (
    DEFAULT_NAMES,
    EMAIL_MASK,
    NAME_MASK,
    PHONE_MASK,
    NamesMissing,
    first_names,
    mask_action,
    mask_text,
)
from recommender.records.records import Action


def test_emails_and_phones_are_masked():
    text = "Contact : chmission.federation44@gmail.com ou 06 46 80 00 95, +33 1 23 45 67 89."
    masked = mask_text(text)
    assert "gmail" not in masked and "46 80" not in masked and "45 67" not in masked
    assert masked.count(EMAIL_MASK) == 1
    assert masked.count(PHONE_MASK) == 2


def test_first_names_and_initials_are_masked_not_places():
    masked = mask_text("Émilie : 0,4 ETP\nJean Claude P : 6H/semaine\nQuartier Saint-Pierre")
    assert masked.splitlines() == [
        f"{NAME_MASK} : 0,4 ETP",
        f"{NAME_MASK} : 6H/semaine",
        "Quartier Saint-Pierre",
    ]


def test_numbers_that_are_not_phones_stay():
    assert mask_text("Budget 2021 : 10 000,00 € pour 300 personnes") == (
        "Budget 2021 : 10 000,00 € pour 300 personnes"
    )


def test_mask_action_keeps_structure_and_masks_free_text():
    action = Action(
        title="Atelier",
        structure="MAISON SAINT PIERRE - Yvelines",
        people="Sophie et Karim, bénévoles",
        description="Écrire à contact@centre.fr",
    )
    masked = mask_action(action)
    assert masked.structure == action.structure
    assert "Sophie" not in masked.people and "Karim" not in masked.people
    assert EMAIL_MASK in masked.description


def test_first_name_list_ships_with_the_package():
    assert DEFAULT_NAMES.is_file()
    assert DEFAULT_NAMES.parent.name == "records"
    assert {"emilie", "karim"} <= first_names()


def test_missing_first_name_list_fails_loudly(tmp_path):
    with pytest.raises(NamesMissing, match="prénoms"):
        first_names(tmp_path / "absent.txt")
