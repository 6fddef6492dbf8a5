"""The questions that decide a tier: before they are answered the tier is not assessed."""

from __future__ import annotations

from fieldscreen.forms import tier_questions, undecided
from tests.unit.forms.helpers import session

FORM = """
| survey |
|        | type          | name      | label | relevant        | calculation                               |
|        | integer       | age       | Age   |                 |                                           |
|        | select_one yn | carer     | Carer |                 |                                           |
|        | select_one yn | feared    | Fear  |                 |                                           |
|        | select_one yn | alone     | Alone | ${carer} = 'no' |                                           |
|        | calculate     | very_young|       |                 | if(${age} < 6 and ${alone} = 'yes', 1, 0) |
|        | text          | alias     | Name  |                 |                                           |
|        | select_one yn | pets      | Pets  |                 |                                           |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| rules |
|       | name     | when                 | tier | message |
|       | T0_YOUNG | ${very_young} = 1    | T0   | Act     |
|       | T1_FEAR  | ${feared} = 'yes'    | T1   | Soon    |
|       | F_PETS   | ${pets} = 'yes'      |      |         |
"""


def test_the_deciding_questions_are_what_tier_rules_read_through_calculations() -> None:
    s = session(FORM)
    # age and alone through the calculation, carer through alone's relevance, feared directly;
    # not the name, and not pets (its rule sets no tier).
    assert tier_questions(s.form) == ("age", "carer", "feared", "alone")


def test_undecided_counts_shown_questions_without_an_answer() -> None:
    s = session(FORM)
    # alone is not shown yet, but the open carer question may show it: it is open too
    assert undecided(s) == ("age", "carer", "feared", "alone")
    s.set_answer("carer", "yes")
    assert undecided(s) == ("age", "feared")  # alone stays hidden whatever comes next
    s.set_answer("carer", "no")
    assert undecided(s) == ("age", "feared", "alone")
    s.set_answer("age", 15)
    s.set_answer("alone", "yes")
    s.set_answer("feared", "no")
    assert undecided(s) == ()
    assert s.computed_tier() == "T4"  # now a real "no current risk"
    s.set_answer("carer", "yes")  # alone hides again: nothing is open
    assert undecided(s) == ()


MODULE = """
| survey |
|        | type          | name   | label  | relevant          |
|        | select_one yn | worked | Worked |                   |
|        | select_one yn | paid   | Paid   | ${worked} = 'yes' |
|        | text          | alias  | Name   |                   |
| choices |
|         | list_name | name | label |
|         | yn        | yes  | Yes   |
|         | yn        | no   | No    |
| rules |
|       | name   | when                              | opens          |
|       | O_WORK | ${worked} = 'yes' and ${paid} = 'no' | fs_trafficking |
"""


def test_a_question_that_may_open_a_module_is_open_until_answered() -> None:
    s = session(MODULE)  # no rule sets a tier here, but the module it opens may
    assert undecided(s) == ("worked", "paid")
    s.set_answer("worked", "no")
    assert undecided(s) == ()
