"""The tabular mapping syntax reaches every column name (braces, commas, quotes) and the header
row guess, with the import summary saying which choice was made (breaker finding 7)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.formats import tabular
from workbench.core.formats.importer import import_file

names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s
)


@given(st.lists(names, min_size=1, max_size=4, unique=True))
def test_field_refs_and_columns_option_name_every_column(cols):
    template = " / ".join(tabular.field_ref(c) for c in cols)
    assert tabular.template_fields(template) == cols
    row = {c: f"v{i}" for i, c in enumerate(cols)}
    assert tabular.fill_template(template, row) == " / ".join(row.values())
    assert tabular._parse_columns(tabular.columns_option(cols)) == cols


def _csv(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


@given(st.lists(names, min_size=3, max_size=3, unique=True))
def test_a_table_with_any_names_reads_through_the_mapping(cols):
    text = _csv([cols, ["What is 2+2?", "4", "two plus two"]])
    opts = {
        "header": "yes",
        "instruction": tabular.field_ref(cols[0]),
        "output": f"{tabular.field_ref(cols[2])} So the answer is {tabular.field_ref(cols[1])}.",
    }
    (task,) = tabular.read_text(text, Path("t.csv"), **opts)
    assert task.instruction == "What is 2+2?"
    assert task.instances[0].output == "two plus two So the answer is 4."


def test_existing_syntax_still_works():
    text = "question,answer,rationale\nWhat is 2+2?,4,two plus two\n"
    (task,) = tabular.read_text(text, Path("t.csv"))
    assert task.instances[0].output == tabular.COT_TEMPLATE.format(
        rationale="two plus two", answer="4"
    )
    (task,) = tabular.read_text(
        "a, b ,c\nx,y,z\n",
        Path("t.csv"),
        columns="q, a , r",
        header="yes",
        instruction="q",
        output="{a}-{r}",
    )
    assert (task.instruction, task.instances[0].output) == ("x", "y-z")


def test_duplicate_header_names_the_column_and_the_way_out():
    try:
        tabular.read_text("prompt\tprompt\tresponse\nA\tB\tC\n", Path("d.tsv"))
    except UserInputError as e:
        assert "same name: prompt" in str(e) and "columns=" in (e.hint or "")
    else:
        raise AssertionError("a duplicate header was accepted")


def test_header_guess():
    g = tabular.guess_header
    assert g([["question", "answer", "rationale"], ["Q?", "4", "r"]]) == "named"
    assert g([["question", "answer, final", "{why}"], ["What is 2+2?", "4", "two"]]) == "guessed"
    assert g([["q", "a", "n"], ["Name a colour", "red", "1"]]) == "guessed"
    assert g([["Is the sky blue?", "yes", "It is day."], ["Q?", "no", "r"]]) == "none"
    assert g([["great movie", "positive"], ["bad movie", "negative"]]) == "none"


def test_cli_import_says_which_header_choice_it_made(tmp_workspace, tmp_path):
    p = tmp_path / "braces.csv"
    p.write_text("q,a,n\nName a colour,red,1\n", encoding="utf-8")
    res = import_file(tmp_workspace, p, None, options={"instruction": "q", "output": "a"})
    assert res.imported == 1 and "header=no" in res.summary()
    p = tmp_path / "flan.tsv"
    p.write_text("Is the sky blue?\tyes\tIt is day.\nIs grass red?\tno\tIt is green.\n")
    res = import_file(tmp_workspace, p, None)
    assert res.instances == 2 and "header=yes" in res.summary()
