"""PS3.8 9.2 state machine: every Sta x Evt cell of Table 9-10 against an independent copy."""

from __future__ import annotations

import pytest

from dicomkit.errors import LocalProtocolError
from dicomkit.net.proto._fsm import ACTIONS, TABLE, Action, Context, Event, Output, State, step

# PS3.8 Table 9-10, typed in again from the standard (rows: events, columns: Sta1..Sta13).
EXPECTED_TEXT = """
Evt1  AE-1 .    .    .    .    .    .    .    .    .     .    .    .
Evt2  .    .    .    AE-2 .    .    .    .    .    .     .    .    .
Evt3  .    AA-1 AA-8 .    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8 AA-8 AA-6
Evt4  .    AA-1 AA-8 .    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8 AA-8 AA-6
Evt5  AE-5 .    .    .    .    .    .    .    .    .     .    .    .
Evt6  .    AE-6 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8 AA-8 AA-7
Evt7  .    .    AE-7 .    .    .    .    .    .    .     .    .    .
Evt8  .    .    AE-8 .    .    .    .    .    .    .     .    .    .
Evt9  .    .    .    .    .    DT-1 .    AR-7 .    .     .    .    .
Evt10 .    AA-1 AA-8 .    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8 AA-8 AA-6
Evt11 .    .    .    .    .    AR-1 .    .    .    .     .    .    .
Evt12 .    AA-1 AA-8 .    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8 AA-8 AA-6
Evt13 .    AA-1 AA-8 .    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3 AA-8 AA-6
Evt14 .    .    .    .    .    .    .    AR-4 AR-9 .     .    AR-4 .
Evt15 .    .    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1 AA-1 .
Evt16 .    AA-2 AA-3 .    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3 AA-3 AA-2
Evt17 .    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4 AA-4 AR-5
Evt18 .    AA-2 .    .    .    .    .    .    .    .     .    .    AA-2
Evt19 .    AA-1 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8 AA-8 AA-7
"""


def _expected() -> dict[tuple[int, int], str | None]:
    out: dict[tuple[int, int], str | None] = {}
    for line in EXPECTED_TEXT.strip().splitlines():
        name, *cells = line.split()
        assert len(cells) == 13, line
        evt = int(name[3:])
        for sta, cell in enumerate(cells, start=1):
            out[(sta, evt)] = None if cell == "." else cell
    return out


EXPECTED = _expected()
CELLS = sorted(EXPECTED)

# Next state of each action (PS3.8 Tables 9-6 to 9-9); AE-6, AR-8, AA-3 depend on context.
NEXT_STATE = {
    "AE-1": 4,
    "AE-2": 5,
    "AE-3": 6,
    "AE-4": 1,
    "AE-5": 2,
    "AE-7": 6,
    "AE-8": 13,
    "DT-1": 6,
    "DT-2": 6,
    "AR-1": 7,
    "AR-2": 8,
    "AR-3": 1,
    "AR-4": 13,
    "AR-5": 1,
    "AR-6": 7,
    "AR-7": 8,
    "AR-9": 11,
    "AR-10": 12,
    "AA-1": 13,
    "AA-2": 1,
    "AA-3": 1,
    "AA-4": 1,
    "AA-5": 1,
    "AA-6": 13,
    "AA-7": 13,
    "AA-8": 13,
}


def test_table_size() -> None:
    assert len(State) == 13 and len(Event) == 19
    assert len(CELLS) == 13 * 19
    assert {a.value for a in Action} == set(NEXT_STATE) | {"AE-6", "AR-8"}


@pytest.mark.parametrize(("sta", "evt"), CELLS, ids=[f"Sta{s}-Evt{e}" for s, e in CELLS])
def test_cell(sta: int, evt: int) -> None:
    state, event = State(sta), Event(evt)
    want = EXPECTED[(sta, evt)]
    got = TABLE.get((state, event))
    assert (got.value if got else None) == want
    ctx = Context(is_requestor=True)
    if want is None:
        with pytest.raises(LocalProtocolError):
            step(state, event, ctx)
        return
    action, transition = step(state, event, ctx)
    assert action.value == want
    if want in NEXT_STATE:
        assert transition.state == State(NEXT_STATE[want])


def test_ae6_acceptable_and_not() -> None:
    t = ACTIONS[Action.AE_6](Context(is_requestor=False, rq_acceptable=True))
    assert t.state is State.STA3
    assert t.outputs == (Output.STOP_ARTIM, Output.INDICATE_ASSOCIATE)
    t = ACTIONS[Action.AE_6](Context(is_requestor=False, rq_acceptable=False))
    assert t.state is State.STA13
    assert t.outputs == (Output.STOP_ARTIM, Output.SEND_ASSOCIATE_RJ, Output.START_ARTIM)


def test_ar8_collision_sides() -> None:
    assert ACTIONS[Action.AR_8](Context(is_requestor=True)).state is State.STA9
    assert ACTIONS[Action.AR_8](Context(is_requestor=False)).state is State.STA10
    assert ACTIONS[Action.AR_8](Context(True)).outputs == (Output.INDICATE_RELEASE_COLLISION,)


def test_aa3_user_or_provider() -> None:
    t = ACTIONS[Action.AA_3](Context(True, abort_from_user=True))
    assert t.outputs == (Output.INDICATE_ABORT, Output.CLOSE_TRANSPORT)
    t = ACTIONS[Action.AA_3](Context(True, abort_from_user=False))
    assert t.outputs == (Output.INDICATE_P_ABORT, Output.CLOSE_TRANSPORT)


@pytest.mark.parametrize(
    ("name", "outputs"),
    [
        ("AE-1", {Output.TRANSPORT_CONNECT}),
        ("AE-2", {Output.SEND_ASSOCIATE_RQ}),
        ("AE-4", {Output.CONFIRM_REJECT, Output.CLOSE_TRANSPORT}),
        ("AE-5", {Output.START_ARTIM}),
        ("AE-8", {Output.SEND_ASSOCIATE_RJ, Output.START_ARTIM}),
        ("AR-3", {Output.CONFIRM_RELEASE, Output.CLOSE_TRANSPORT}),
        ("AR-4", {Output.SEND_RELEASE_RP, Output.START_ARTIM}),
        ("AR-5", {Output.STOP_ARTIM}),
        ("AA-1", {Output.SEND_ABORT, Output.START_ARTIM}),
        ("AA-2", {Output.STOP_ARTIM, Output.CLOSE_TRANSPORT}),
        ("AA-4", {Output.INDICATE_P_ABORT}),
        ("AA-5", {Output.STOP_ARTIM}),
        ("AA-6", set()),
        ("AA-8", {Output.SEND_ABORT_PROVIDER, Output.INDICATE_P_ABORT, Output.START_ARTIM}),
    ],
)
def test_action_outputs(name: str, outputs: set[Output]) -> None:
    assert set(ACTIONS[Action(name)](Context(True)).outputs) == outputs


def test_actions_are_pure() -> None:
    ctx = Context(is_requestor=False)
    for action, fn in ACTIONS.items():
        assert fn(ctx) == fn(ctx), action
