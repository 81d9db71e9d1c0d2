"""The DICOM upper-layer state machine as data (PS3.8 9.2).

States Sta1..Sta13 (PS3.8 9.2.1), events Evt1..Evt19 (Table 9-10's rows), actions AE-1..AE-8,
DT-1..DT-2, AR-1..AR-10, AA-1..AA-8 (PS3.8 9.2.2) and the state transition table
(PS3.8 Table 9-10) as ``TABLE[(State, Event)] -> Action``. Each action is a pure function of a
small :class:`Context` returning a :class:`Transition`: the next state and the outputs (what to
send, what to indicate to the user, ARTIM start/stop, transport close) for the engine to carry
out. No clock is read: the ARTIM timer is a ``START_ARTIM`` / ``STOP_ARTIM`` output and its
expiry is the input event ``EVT18``.

The table is written below as the grid the standard prints (rows Evt1..Evt19, columns
Sta1..Sta13), parsed and checked when the module is imported. A blank cell of Table 9-10 is
absent from ``TABLE``; :func:`step` raises ``LocalProtocolError`` for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING

from dicomkit.errors import LocalProtocolError

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

__all__ = [
    "ACTIONS",
    "TABLE",
    "Action",
    "Context",
    "Event",
    "Output",
    "State",
    "Transition",
    "step",
]


class State(Enum):
    """Upper-layer states (PS3.8 Tables 9-1 to 9-5)."""

    STA1 = 1  # Idle
    STA2 = 2  # Transport connection open (awaiting A-ASSOCIATE-RQ PDU)
    STA3 = 3  # Awaiting local A-ASSOCIATE response primitive
    STA4 = 4  # Awaiting transport connection opening to complete
    STA5 = 5  # Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
    STA6 = 6  # Association established and ready for data transfer
    STA7 = 7  # Awaiting A-RELEASE-RP PDU
    STA8 = 8  # Awaiting local A-RELEASE response primitive
    STA9 = 9  # Release collision requestor side; awaiting A-RELEASE response
    STA10 = 10  # Release collision acceptor side; awaiting A-RELEASE-RP PDU
    STA11 = 11  # Release collision requestor side; awaiting A-RELEASE-RP PDU
    STA12 = 12  # Release collision acceptor side; awaiting A-RELEASE response primitive
    STA13 = 13  # Awaiting transport connection close indication

    def __str__(self) -> str:
        return f"Sta{self.value}"


class Event(Enum):
    """Upper-layer events (PS3.8 Table 9-10)."""

    EVT1 = 1  # A-ASSOCIATE request (local user)
    EVT2 = 2  # Transport connect confirmation (local transport service)
    EVT3 = 3  # A-ASSOCIATE-AC PDU received
    EVT4 = 4  # A-ASSOCIATE-RJ PDU received
    EVT5 = 5  # Transport connection indication (local transport service)
    EVT6 = 6  # A-ASSOCIATE-RQ PDU received
    EVT7 = 7  # A-ASSOCIATE response primitive (accept)
    EVT8 = 8  # A-ASSOCIATE response primitive (reject)
    EVT9 = 9  # P-DATA request primitive
    EVT10 = 10  # P-DATA-TF PDU received
    EVT11 = 11  # A-RELEASE request primitive
    EVT12 = 12  # A-RELEASE-RQ PDU received
    EVT13 = 13  # A-RELEASE-RP PDU received
    EVT14 = 14  # A-RELEASE response primitive
    EVT15 = 15  # A-ABORT request primitive
    EVT16 = 16  # A-ABORT PDU received
    EVT17 = 17  # Transport connection closed indication
    EVT18 = 18  # ARTIM timer expired
    EVT19 = 19  # Unrecognized or invalid PDU received

    def __str__(self) -> str:
        return f"Evt{self.value}"


class Action(Enum):
    """Actions of PS3.8 Tables 9-6 to 9-9, valued by their standard names."""

    AE_1 = "AE-1"
    AE_2 = "AE-2"
    AE_3 = "AE-3"
    AE_4 = "AE-4"
    AE_5 = "AE-5"
    AE_6 = "AE-6"
    AE_7 = "AE-7"
    AE_8 = "AE-8"
    DT_1 = "DT-1"
    DT_2 = "DT-2"
    AR_1 = "AR-1"
    AR_2 = "AR-2"
    AR_3 = "AR-3"
    AR_4 = "AR-4"
    AR_5 = "AR-5"
    AR_6 = "AR-6"
    AR_7 = "AR-7"
    AR_8 = "AR-8"
    AR_9 = "AR-9"
    AR_10 = "AR-10"
    AA_1 = "AA-1"
    AA_2 = "AA-2"
    AA_3 = "AA-3"
    AA_4 = "AA-4"
    AA_5 = "AA-5"
    AA_6 = "AA-6"
    AA_7 = "AA-7"
    AA_8 = "AA-8"


class Output(Enum):
    """What an action asks the engine (and through it the driver) to do."""

    TRANSPORT_CONNECT = "transport connect"
    SEND_ASSOCIATE_RQ = "send A-ASSOCIATE-RQ"
    SEND_ASSOCIATE_AC = "send A-ASSOCIATE-AC"
    SEND_ASSOCIATE_RJ = "send A-ASSOCIATE-RJ"
    SEND_PDATA = "send P-DATA-TF"
    SEND_RELEASE_RQ = "send A-RELEASE-RQ"
    SEND_RELEASE_RP = "send A-RELEASE-RP"
    SEND_ABORT = "send A-ABORT (service-user source)"
    SEND_ABORT_PROVIDER = "send A-ABORT (service-provider source)"
    INDICATE_ASSOCIATE = "A-ASSOCIATE indication"
    CONFIRM_ACCEPT = "A-ASSOCIATE confirmation (accept)"
    CONFIRM_REJECT = "A-ASSOCIATE confirmation (reject)"
    INDICATE_PDATA = "P-DATA indication"
    INDICATE_RELEASE = "A-RELEASE indication"
    INDICATE_RELEASE_COLLISION = "A-RELEASE indication (release collision)"
    CONFIRM_RELEASE = "A-RELEASE confirmation"
    INDICATE_ABORT = "A-ABORT indication"
    INDICATE_P_ABORT = "A-P-ABORT indication"
    START_ARTIM = "start ARTIM timer"
    STOP_ARTIM = "stop ARTIM timer"
    CLOSE_TRANSPORT = "close transport connection"


@dataclass(frozen=True, slots=True)
class Context:
    """The facts an action may depend on besides the state.

    ``is_requestor``: this side requested the association (AR-8). ``rq_acceptable``: the
    received A-ASSOCIATE-RQ is acceptable to the service provider (AE-6).
    ``abort_from_user``: the received A-ABORT has the service-user source (AA-3).
    """

    is_requestor: bool
    rq_acceptable: bool = True
    abort_from_user: bool = True


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    outputs: tuple[Output, ...] = ()


O = Output
S = State


def _ae_6(c: Context) -> Transition:
    if c.rq_acceptable:
        return Transition(S.STA3, (O.STOP_ARTIM, O.INDICATE_ASSOCIATE))
    return Transition(S.STA13, (O.STOP_ARTIM, O.SEND_ASSOCIATE_RJ, O.START_ARTIM))


def _ar_8(c: Context) -> Transition:
    return Transition(S.STA9 if c.is_requestor else S.STA10, (O.INDICATE_RELEASE_COLLISION,))


def _aa_3(c: Context) -> Transition:
    ind = O.INDICATE_ABORT if c.abort_from_user else O.INDICATE_P_ABORT
    return Transition(S.STA1, (ind, O.CLOSE_TRANSPORT))


def _fixed(state: State, *outputs: Output) -> Callable[[Context], Transition]:
    t = Transition(state, outputs)

    def action(_c: Context) -> Transition:
        return t

    return action


ACTIONS: dict[Action, Callable[[Context], Transition]] = {
    # PS3.8 Table 9-6: association establishment
    Action.AE_1: _fixed(S.STA4, O.TRANSPORT_CONNECT),
    Action.AE_2: _fixed(S.STA5, O.SEND_ASSOCIATE_RQ),
    Action.AE_3: _fixed(S.STA6, O.CONFIRM_ACCEPT),
    Action.AE_4: _fixed(S.STA1, O.CONFIRM_REJECT, O.CLOSE_TRANSPORT),
    Action.AE_5: _fixed(S.STA2, O.START_ARTIM),
    Action.AE_6: _ae_6,
    Action.AE_7: _fixed(S.STA6, O.SEND_ASSOCIATE_AC),
    Action.AE_8: _fixed(S.STA13, O.SEND_ASSOCIATE_RJ, O.START_ARTIM),
    # Table 9-7: data transfer
    Action.DT_1: _fixed(S.STA6, O.SEND_PDATA),
    Action.DT_2: _fixed(S.STA6, O.INDICATE_PDATA),
    # Table 9-8: association release
    Action.AR_1: _fixed(S.STA7, O.SEND_RELEASE_RQ),
    Action.AR_2: _fixed(S.STA8, O.INDICATE_RELEASE),
    Action.AR_3: _fixed(S.STA1, O.CONFIRM_RELEASE, O.CLOSE_TRANSPORT),
    Action.AR_4: _fixed(S.STA13, O.SEND_RELEASE_RP, O.START_ARTIM),
    Action.AR_5: _fixed(S.STA1, O.STOP_ARTIM),
    Action.AR_6: _fixed(S.STA7, O.INDICATE_PDATA),
    Action.AR_7: _fixed(S.STA8, O.SEND_PDATA),
    Action.AR_8: _ar_8,
    Action.AR_9: _fixed(S.STA11, O.SEND_RELEASE_RP),
    Action.AR_10: _fixed(S.STA12, O.CONFIRM_RELEASE),
    # Table 9-9: association abort
    Action.AA_1: _fixed(S.STA13, O.SEND_ABORT, O.START_ARTIM),
    Action.AA_2: _fixed(S.STA1, O.STOP_ARTIM, O.CLOSE_TRANSPORT),
    Action.AA_3: _aa_3,
    Action.AA_4: _fixed(S.STA1, O.INDICATE_P_ABORT),
    Action.AA_5: _fixed(S.STA1, O.STOP_ARTIM),
    Action.AA_6: _fixed(S.STA13),
    Action.AA_7: _fixed(S.STA13, O.SEND_ABORT_PROVIDER),
    Action.AA_8: _fixed(S.STA13, O.SEND_ABORT_PROVIDER, O.INDICATE_P_ABORT, O.START_ARTIM),
}


# PS3.8 Table 9-10 as the standard prints it: one row per event, one column per state
# (Sta1..Sta13); "." is a blank cell (the event is not allowed in that state).
_TABLE_9_10 = """
        Sta1 Sta2 Sta3 Sta4 Sta5 Sta6 Sta7 Sta8 Sta9 Sta10 Sta11 Sta12 Sta13
Evt1    AE-1 .    .    .    .    .    .    .    .    .     .     .     .
Evt2    .    .    .    AE-2 .    .    .    .    .    .     .     .     .
Evt3    .    AA-1 AA-8 .    AE-3 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt4    .    AA-1 AA-8 .    AE-4 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt5    AE-5 .    .    .    .    .    .    .    .    .     .     .     .
Evt6    .    AE-6 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
Evt7    .    .    AE-7 .    .    .    .    .    .    .     .     .     .
Evt8    .    .    AE-8 .    .    .    .    .    .    .     .     .     .
Evt9    .    .    .    .    .    DT-1 .    AR-7 .    .     .     .     .
Evt10   .    AA-1 AA-8 .    AA-8 DT-2 AR-6 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt11   .    .    .    .    .    AR-1 .    .    .    .     .     .     .
Evt12   .    AA-1 AA-8 .    AA-8 AR-2 AR-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-6
Evt13   .    AA-1 AA-8 .    AA-8 AA-8 AR-3 AA-8 AA-8 AR-10 AR-3  AA-8  AA-6
Evt14   .    .    .    .    .    .    .    AR-4 AR-9 .     .     AR-4  .
Evt15   .    .    AA-1 AA-2 AA-1 AA-1 AA-1 AA-1 AA-1 AA-1  AA-1  AA-1  .
Evt16   .    AA-2 AA-3 .    AA-3 AA-3 AA-3 AA-3 AA-3 AA-3  AA-3  AA-3  AA-2
Evt17   .    AA-5 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4 AA-4  AA-4  AA-4  AR-5
Evt18   .    AA-2 .    .    .    .    .    .    .    .     .     .     AA-2
Evt19   .    AA-1 AA-8 .    AA-8 AA-8 AA-8 AA-8 AA-8 AA-8  AA-8  AA-8  AA-7
"""


def _parse_grid(text: str) -> dict[tuple[State, Event], Action]:
    """The grid above as ``{(state, event): action}``, checked cell by cell: the header names
    Sta1..Sta13 in order, the rows Evt1..Evt19 in order, every cell an action of
    :class:`Action` or ".", and every action used somewhere. A typo fails at import."""
    header, *rows = text.strip().splitlines()
    states = [str(s) for s in State]
    if header.split() != states:
        raise RuntimeError(f"Table 9-10 header {header.split()} is not {states}")
    names = {a.value: a for a in Action}
    table: dict[tuple[State, Event], Action] = {}
    events = list(Event)
    if [row.split()[0] for row in rows] != [str(e) for e in events]:
        raise RuntimeError("Table 9-10 rows must be Evt1..Evt19 in order")
    for event, row in zip(events, rows, strict=True):
        cells = row.split()[1:]
        if len(cells) != len(states):
            raise RuntimeError(f"Table 9-10 row {event} has {len(cells)} cells, not 13")
        for state, cell in zip(State, cells, strict=True):
            if cell == ".":
                continue
            if cell not in names:
                raise RuntimeError(f"Table 9-10 cell {state}/{event}: unknown action {cell!r}")
            table[(state, event)] = names[cell]
    if set(ACTIONS) != set(Action):
        raise RuntimeError("every action of PS3.8 9.2.2 needs its function in ACTIONS")
    unused = set(Action) - set(table.values())
    if unused:
        raise RuntimeError(f"actions missing from Table 9-10: {sorted(a.value for a in unused)}")
    return table


#: ``TABLE[(state, event)] -> action``; read-only (a blank cell is absent).
TABLE: Mapping[tuple[State, Event], Action] = MappingProxyType(_parse_grid(_TABLE_9_10))


def step(state: State, event: Event, context: Context) -> tuple[Action, Transition]:
    """Look up Table 9-10 and run the action; a blank cell raises ``LocalProtocolError``."""
    action = TABLE.get((state, event))
    if action is None:
        raise LocalProtocolError(
            f"event {event} is not allowed in state {state} (PS3.8 Table 9-10)"
        )
    return action, ACTIONS[action](context)
