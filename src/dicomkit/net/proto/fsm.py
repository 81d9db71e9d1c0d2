"""The DICOM upper-layer state machine as data (PS3.8 9.2).

States Sta1..Sta13 (PS3.8 9.2.1), events Evt1..Evt19 (Table 9-10's rows), actions AE-1..AE-8,
DT-1..DT-2, AR-1..AR-10, AA-1..AA-8 (PS3.8 9.2.2) and the state transition table
(PS3.8 Table 9-10) as ``TABLE[(State, Event)] -> Action``. Each action is a pure function of a
small :class:`Context` returning a :class:`Transition`: the next state and the outputs (what to
send, what to indicate to the user, ARTIM start/stop, transport close) for the engine to carry
out. No clock is read: the ARTIM timer is a ``START_ARTIM`` / ``STOP_ARTIM`` output and its
expiry is the input event ``EVT18``.

A blank cell of Table 9-10 is absent from ``TABLE``; :func:`step` raises
``LocalProtocolError`` for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from dicomkit.errors import LocalProtocolError

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


def _row(event: Event, cells: dict[int, Action]) -> dict[tuple[State, Event], Action]:
    return {(State(n), event): a for n, a in cells.items()}


A = Action
_ALL_ASSOC = range(6, 13)  # Sta6..Sta12

# PS3.8 Table 9-10, one row per event; states not listed are blank cells.
TABLE: dict[tuple[State, Event], Action] = {
    **_row(Event.EVT1, {1: A.AE_1}),
    **_row(Event.EVT2, {4: A.AE_2}),
    **_row(
        Event.EVT3,
        {2: A.AA_1, 3: A.AA_8, 5: A.AE_3, **dict.fromkeys(_ALL_ASSOC, A.AA_8), 13: A.AA_6},
    ),
    **_row(
        Event.EVT4,
        {2: A.AA_1, 3: A.AA_8, 5: A.AE_4, **dict.fromkeys(_ALL_ASSOC, A.AA_8), 13: A.AA_6},
    ),
    **_row(Event.EVT5, {1: A.AE_5}),
    **_row(
        Event.EVT6,
        {2: A.AE_6, 3: A.AA_8, 5: A.AA_8, **dict.fromkeys(_ALL_ASSOC, A.AA_8), 13: A.AA_7},
    ),
    **_row(Event.EVT7, {3: A.AE_7}),
    **_row(Event.EVT8, {3: A.AE_8}),
    **_row(Event.EVT9, {6: A.DT_1, 8: A.AR_7}),
    **_row(
        Event.EVT10,
        {
            2: A.AA_1,
            3: A.AA_8,
            5: A.AA_8,
            6: A.DT_2,
            7: A.AR_6,
            **dict.fromkeys(range(8, 13), A.AA_8),
            13: A.AA_6,
        },
    ),
    **_row(Event.EVT11, {6: A.AR_1}),
    **_row(
        Event.EVT12,
        {
            2: A.AA_1,
            3: A.AA_8,
            5: A.AA_8,
            6: A.AR_2,
            7: A.AR_8,
            **dict.fromkeys(range(8, 13), A.AA_8),
            13: A.AA_6,
        },
    ),
    **_row(
        Event.EVT13,
        {
            2: A.AA_1,
            3: A.AA_8,
            5: A.AA_8,
            6: A.AA_8,
            7: A.AR_3,
            8: A.AA_8,
            9: A.AA_8,
            10: A.AR_10,
            11: A.AR_3,
            12: A.AA_8,
            13: A.AA_6,
        },
    ),
    **_row(Event.EVT14, {8: A.AR_4, 9: A.AR_9, 12: A.AR_4}),
    **_row(Event.EVT15, {3: A.AA_1, 4: A.AA_2, 5: A.AA_1, **dict.fromkeys(_ALL_ASSOC, A.AA_1)}),
    **_row(
        Event.EVT16,
        {2: A.AA_2, 3: A.AA_3, 5: A.AA_3, **dict.fromkeys(_ALL_ASSOC, A.AA_3), 13: A.AA_2},
    ),
    **_row(
        Event.EVT17,
        {
            2: A.AA_5,
            3: A.AA_4,
            4: A.AA_4,
            5: A.AA_4,
            **dict.fromkeys(_ALL_ASSOC, A.AA_4),
            13: A.AR_5,
        },
    ),
    **_row(Event.EVT18, {2: A.AA_2, 13: A.AA_2}),
    **_row(
        Event.EVT19,
        {2: A.AA_1, 3: A.AA_8, 5: A.AA_8, **dict.fromkeys(_ALL_ASSOC, A.AA_8), 13: A.AA_7},
    ),
}


def step(state: State, event: Event, context: Context) -> tuple[Action, Transition]:
    """Look up Table 9-10 and run the action; a blank cell raises ``LocalProtocolError``."""
    action = TABLE.get((state, event))
    if action is None:
        raise LocalProtocolError(
            f"event {event} is not allowed in state {state} (PS3.8 Table 9-10)"
        )
    return action, ACTIONS[action](context)
