"""Low-data selection: k-center greedy, k-means + k-center, random; coverage on real tasks; CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserInputError
from workbench.core.selection import select as sel
from workbench.core.selection.kcenter import kcenter_greedy
from workbench.core.selection.tfidf import tfidf_matrix
from workbench.core.store.tasks import Instance, Task, add_task
from workbench.core.store.workspace import Workspace


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Five tight, well-separated groups of unit vectors (20 points each)."""
    rng = np.random.default_rng(seed)
    centers = np.eye(8)[:5]
    labels = np.repeat(np.arange(5), 20)
    x = centers[labels] + 0.05 * rng.standard_normal((100, 8))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_kcenter_takes_one_point_per_group_first():
    x, labels = _blobs()
    chosen = kcenter_greedy(x, 5, first=0)
    assert sorted(labels[chosen]) == [0, 1, 2, 3, 4]
    assert len(set(kcenter_greedy(x, 100, first=3))) == 100  # never a point twice
    mean_d, max_d = sel.coverage(x, chosen)
    assert max_d < 0.1 and mean_d < max_d


@pytest.mark.parametrize("method", sel.METHODS)
def test_choose_is_deterministic_per_seed(method):
    x, labels = _blobs()
    a, b = sel.choose(x, 10, method, seed=3), sel.choose(x, 10, method, seed=3)
    assert a == b and len(set(a)) == 10
    if method != "kcenter":  # k-center's later picks are forced; random and k-means vary
        assert any(sel.choose(x, 10, method, seed=s) != a for s in range(4, 8))
    if method == "kmeans-kcenter":
        assert set(labels[a]) == {0, 1, 2, 3, 4}  # every group is covered


def test_split_budget():
    alloc = sel._split_budget(np.array([50, 30, 15, 4, 1]), 10)
    assert alloc.sum() == 10 and all(alloc >= 1) and list(alloc) == sorted(alloc, reverse=True)
    assert list(sel._split_budget(np.array([2, 100]), 50)) == [1, 49]
    assert sel._split_budget(np.array([3, 3]), 6).tolist() == [3, 3]


def test_tfidf_rows_are_unit_and_similar_texts_are_close():
    x = tfidf_matrix(
        [
            "translate the sentence into French",
            "translate this sentence to French",
            "write a poem about autumn leaves",
            "",
        ],
        lsa_dim=None,
    )
    assert np.allclose(np.linalg.norm(x[:3], axis=1), 1.0, atol=1e-5)
    assert x[0] @ x[1] > x[0] @ x[2]
    assert not x[3].any()  # nothing to say about an empty text: distance 1 to everything


def test_budget_errors():
    with pytest.raises(UserInputError):
        sel.resolve_budget(10, None, None)
    with pytest.raises(UserInputError):
        sel.resolve_budget(10, 0, None)
    with pytest.raises(UserInputError):
        sel.resolve_budget(10, None, 1.5)
    assert sel.resolve_budget(1000, None, 0.005) == 5


# ------------------------------------------------------------------------ real Self-Instruct tasks
@pytest.fixture(scope="module")
def real_ws(shared_data, tmp_path_factory):
    """The 175 seed tasks and 252 user-oriented tasks of Self-Instruct in one workspace."""
    path = tmp_path_factory.mktemp("sel") / "ws.sqlite"
    ws = Workspace.create(path)
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        lines = (shared_data / "self_instruct" / name).read_text(encoding="utf-8").splitlines()
        with ws.transaction():
            for line in filter(str.strip, lines):
                r = json.loads(line)
                add_task(
                    ws,
                    Task(
                        r["instruction"],
                        [Instance(i["input"], i["output"]) for i in r["instances"]],
                        source="seed",
                        origin=name,
                        meta={"tags": ["user"]} if name.startswith("user") else {},
                    ),
                )
    yield ws
    ws.close()


def test_kcenter_covers_real_tasks_better_than_random(real_ws):
    budget = 43  # 10% of the 427 tasks
    for seed in (0, 1):
        res = sel.select(real_ws, budget=budget, method="kcenter", seed=seed, name=f"kc{seed}")
        assert len(res.ids) == len(set(res.ids)) == budget and res.pool == 427
        assert res.max_distance < res.random_max_distance
        assert res.mean_distance <= 1.0 and res.random_mean_distance <= 1.0
    again = sel.select(real_ws, budget=budget, method="kcenter", seed=1, save=False)
    assert again.ids == sel.selection_task_ids(real_ws, "kc1")
    assert again.max_distance == pytest.approx(res.max_distance)


def test_kmeans_kcenter_and_fraction_on_real_tasks(real_ws):
    a = sel.select(real_ws, fraction=0.05, method="kmeans-kcenter", seed=7, name="km")
    b = sel.select(real_ws, fraction=0.05, method="kmeans-kcenter", seed=7, save=False)
    assert len(a.ids) == len(set(a.ids)) == 22 and a.ids == b.ids
    rows = {r["name"]: r for r in sel.list_selections(real_ws)}
    assert rows["km"]["size"] == 22 and rows["km"]["method"] == "kmeans-kcenter"
    assert rows["km"]["stats"]["max_distance"] == pytest.approx(a.max_distance)
    # a second selection under the same name replaces the first
    sel.select(real_ws, budget=3, method="random", seed=1, name="km")
    assert len(sel.selection_task_ids(real_ws, "km")) == 3


def test_task_restriction_by_tag_and_by_description(real_ws):
    tagged = sel.select(real_ws, budget=5, task="user", save=False)
    origins = {real_ws.scalar("SELECT origin FROM tasks WHERE id = ?", (i,)) for i in tagged.ids}
    assert tagged.pool == 252 and origins == {"user_oriented_instructions.jsonl"}
    described = sel.select(
        real_ws, budget=5, task="translate the sentence into another language", save=False
    )
    assert 0 < described.pool <= 20 and described.embed["pool"] == "words"
    texts = [
        real_ws.scalar("SELECT instruction FROM tasks WHERE id = ?", (i,)).lower()
        for i in described.ids
    ]
    assert all("translat" in t for t in texts), texts


# ----------------------------------------------- seeds + a real FLAN GSM8K import (40 problems)
@pytest.fixture(scope="module")
def gsm_ws(shared_data, tmp_path_factory):
    from workbench.core.formats.importer import import_file
    from workbench.core.seeds import init_workspace

    ws = init_workspace(tmp_path_factory.mktemp("gsm") / "ws.sqlite")
    import_file(ws, shared_data / "datasets" / "flan" / "gsm8k_train.tsv")
    yield ws
    ws.close()


def test_an_unknown_task_is_refused_with_the_names_that_exist(gsm_ws):
    with pytest.raises(UserInputError) as err:
        sel.select(gsm_ws, budget=5, task="nosuchthingzzz", name="typo")
    msg = str(err.value)
    assert "field 'task'" in msg and "'nosuchthingzzz'" in msg
    assert "'gsm8k_train'" in msg and "'seed'" in msg
    assert sel.list_selections(gsm_ws) == []  # nothing stored
    # closest first: a misspelt file name lists that file's names before the others
    with pytest.raises(UserInputError) as err:
        sel.select(gsm_ws, budget=5, task="gsm8k_trian", save=False)
    listed = str(err.value).split("closest first: ")[1]
    assert listed.startswith("'gsm8k_train")


def test_a_description_picks_task_relevant_items(gsm_ws):
    res = sel.select(gsm_ws, budget=5, task="math word problem", save=False)
    assert res.ids and res.embed["pool"] == "words"
    texts = [gsm_ws.scalar("SELECT instruction FROM tasks WHERE id = ?", (i,)) for i in res.ids]
    # no word games, shops or code: every pick is about maths or a problem to solve
    assert all("math" in t.lower() or "problem" in t.lower() for t in texts), texts
    # the import by its file name: all 40 problems are the pool
    by_source = sel.select(gsm_ws, budget=5, task="gsm8k_train.tsv", save=False)
    assert by_source.pool == 40 and by_source.embed["pool"] == "source"
    origins = {gsm_ws.scalar("SELECT origin FROM tasks WHERE id = ?", (i,)) for i in by_source.ids}
    assert len(origins) == 1 and origins.pop().endswith("gsm8k_train.tsv")


def _exported_instructions(path) -> list[str]:
    return [r["instruction"] for r in json.loads(path.read_text(encoding="utf-8"))]


def _records_of(ws, ids) -> list[str]:
    """The instruction of each record an Alpaca export of `ids` in this order must hold."""
    out = []
    for i in ids:
        n = ws.scalar("SELECT count(*) FROM instances WHERE task_id = ?", (i,))
        out += [ws.scalar("SELECT instruction FROM tasks WHERE id = ?", (i,))] * n
    return out


def test_export_keeps_the_chosen_order(gsm_ws, tmp_path, capsys):
    from workbench.cli import main
    from workbench.core.formats.exporter import export

    out = tmp_path / "subset.json"
    args = ["select", "-w", str(gsm_ws.path), "--budget", "8", "--task", "gsm8k_train"]
    assert main([*args, "--seed", "1", "--out", str(out), "--json"]) == 0
    ids = json.loads(capsys.readouterr().out)["ids"]
    assert ids != sorted(ids)  # a chosen order that id order would break
    assert _exported_instructions(out) == _records_of(gsm_ws, ids)
    # a plain export of the same ids keeps the workspace order
    plain = tmp_path / "plain.json"
    export(gsm_ws, "alpaca", plain, task_ids=ids)
    rows = gsm_ws.query(
        "SELECT instruction FROM tasks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(ids),),
    )
    assert _exported_instructions(plain) == [r["instruction"] for r in rows]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(1, 80).flatmap(lambda k: st.permutations(range(80)).map(lambda p: p[:k])))
def test_exported_order_equals_the_selection_order(gsm_ws, tmp_path, picks):
    """Any selection (any size, any order, seeds and imports mixed) is written in its order."""
    all_ids = [r[0] for r in gsm_ws.execute("SELECT id FROM tasks ORDER BY id")]
    ids = [all_ids[-80:][i] for i in picks]  # the last 40 seeds and the 40 imported problems
    out = tmp_path / "p.json"
    sel.export_selection(gsm_ws, ids, out)
    assert _exported_instructions(out) == _records_of(gsm_ws, ids)


def test_cli_select_json_and_one_instruction_export(real_ws, tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "subset.json"
    code = main(
        [
            "select",
            "--workspace",
            str(real_ws.path),
            "--budget",
            "10",
            "--method",
            "kcenter",
            "--seed",
            "2",
            "--name",
            "cli",
            "--out",
            str(out),
            "--one-instruction",
            "Follow the instruction.",
            "--json",
        ]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    for key in (
        "ids",
        "mean_distance",
        "max_distance",
        "random_mean_distance",
        "random_max_distance",
    ):
        assert key in res
    assert len(res["ids"]) == 10 and res["name"] == "cli"
    records = json.loads(out.read_text(encoding="utf-8"))
    n_instances = real_ws.scalar(
        "SELECT count(*) FROM instances WHERE task_id IN (SELECT value FROM json_each(?))",
        (json.dumps(res["ids"]),),
    )
    assert len(records) == n_instances
    assert {r["instruction"] for r in records} == {"Follow the instruction."}
    # the workspace itself keeps its own wordings
    assert (
        real_ws.scalar("SELECT count(*) FROM tasks WHERE instruction = 'Follow the instruction.'")
        == 0
    )
    # bad usage: exit 2 with a message naming the field
    assert main(["select", "--workspace", str(real_ws.path), "--fraction", "2", "--json"]) == 2
    assert "fraction" in capsys.readouterr().err
