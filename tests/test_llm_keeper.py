"""BackendKeeper: one model kept between jobs, lent to one job at a time, replaced when another
is asked for, dropped after a failure, freed on close (also while lent: when it comes back)."""

from __future__ import annotations

import pytest

from workbench.core.errors import WorkbenchError
from workbench.core.llm.keeper import BackendKeeper
from workbench.core.llm.scripted import ScriptedBackend


class Tracked(ScriptedBackend):
    def __init__(self, name: str) -> None:
        super().__init__(["ok"], model_id=name)
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def keeper():
    opened: list[Tracked] = []

    def opener(**kwargs):
        b = Tracked(str(kwargs.get("model")))
        opened.append(b)
        return b

    k = BackendKeeper(opener)
    k.opened = opened
    return k


def test_same_settings_reuse_the_loaded_model(keeper):
    first = keeper.borrow(model="a", n_threads=1)
    first.close()
    second = keeper.borrow(n_threads=1, model="a")  # same settings, any order
    assert second.backend is first.backend and keeper.loads == 1
    assert not first.backend.closed
    second.close()


def test_other_settings_close_the_old_model_first(keeper):
    a = keeper.borrow(model="a")
    a.close()
    b = keeper.borrow(model="a", n_ctx=1024)
    assert a.backend.closed and b.backend is not a.backend and keeper.loads == 2
    b.close()


def test_one_job_at_a_time(keeper):
    lease = keeper.borrow(model="a")
    with pytest.raises(WorkbenchError, match="in use"):
        keeper.borrow(model="a")
    lease.close()
    keeper.borrow(model="a").close()


def test_a_failed_job_does_not_hand_its_model_on(keeper):
    lease = keeper.borrow(model="a")
    lease.broken = True
    lease.close()
    assert lease.backend.closed and not keeper.loaded
    again = keeper.borrow(model="a")
    assert again.backend is not lease.backend and keeper.loads == 2
    again.close()


def test_close_frees_now_or_when_the_lease_comes_back(keeper):
    idle = keeper.borrow(model="a")
    idle.close()
    keeper.close()
    assert idle.backend.closed and not keeper.loaded
    lent = keeper.borrow(model="b")
    keeper.close()  # quitting while a job still runs
    assert not lent.backend.closed  # the job may still be generating
    lent.close()
    assert lent.backend.closed and not keeper.loaded


def test_a_failing_load_leaves_the_keeper_usable(keeper):
    def bad(**kwargs):
        raise WorkbenchError("not a GGUF file")

    k = BackendKeeper(bad)
    with pytest.raises(WorkbenchError, match="GGUF"):
        k.borrow(model="x")
    with pytest.raises(WorkbenchError, match="GGUF"):  # not "in use"
        k.borrow(model="x")
