"""Hypothesis strategies for upper-layer items and PDUs (shared by the proto tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from dicomkit.net.proto import _items as it
from dicomkit.net.proto import _pdu as p

uids = st.lists(st.integers(0, 99999), min_size=1, max_size=8).map(
    lambda xs: ".".join(map(str, [xs[0] + 1, *xs[1:]]))
)
ae_titles = st.text("ABCXYZ019_- ", min_size=1, max_size=16).map(lambda s: s.strip() or "AE")
u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
odd_ids = st.integers(0, 127).map(lambda n: 2 * n + 1)
small_bytes = st.binary(max_size=64)

user_sub_items = st.one_of(
    st.builds(it.MaximumLengthItem, st.integers(0, 0xFFFFFFFF)),
    st.builds(it.ImplementationClassUIDItem, uids),
    st.builds(it.ImplementationVersionNameItem, st.text("ABZ019_.", min_size=1, max_size=16)),
    st.builds(it.AsyncOperationsWindowItem, u16, u16),
    st.builds(it.RoleSelectionItem, uids, st.booleans(), st.booleans()),
    st.builds(it.SOPClassExtendedNegotiationItem, uids, small_bytes),
    st.builds(
        it.SOPClassCommonExtendedNegotiationItem,
        uids,
        uids,
        st.lists(uids, max_size=4).map(tuple),
    ),
    st.builds(it.UserIdentityRQItem, st.integers(1, 5), small_bytes, small_bytes, st.booleans()),
    st.builds(it.UserIdentityACItem, small_bytes),
    st.builds(it.UnknownItem, st.integers(0x5A, 0xFF), small_bytes),
)
user_information = st.builds(
    it.UserInformationItem, st.lists(user_sub_items, max_size=8).map(tuple)
)
pc_rq = st.builds(
    it.PresentationContextRQItem, odd_ids, uids, st.lists(uids, min_size=1, max_size=4).map(tuple)
)
pc_ac = st.one_of(
    st.builds(it.PresentationContextACItem, odd_ids, st.just(0), uids),
    st.builds(it.PresentationContextACItem, odd_ids, st.integers(1, 4), st.just("")),
)
associate_rq = st.builds(
    p.AAssociateRQ,
    ae_titles,
    ae_titles,
    st.lists(pc_rq, min_size=1, max_size=5).map(tuple),
    user_information,
    uids,
    st.integers(0, 0xFFFF),
)
associate_ac = st.builds(
    p.AAssociateAC,
    ae_titles,
    ae_titles,
    st.lists(pc_ac, max_size=5).map(tuple),
    user_information,
    uids,
    st.integers(0, 0xFFFF),
)
pdvs = st.builds(p.PDV, odd_ids, st.booleans(), st.booleans(), st.binary(max_size=300))
pdus = st.one_of(
    associate_rq,
    associate_ac,
    st.builds(p.AAssociateRJ, st.integers(1, 2), st.integers(1, 3), u8),
    st.builds(p.PDataTF, st.lists(pdvs, min_size=1, max_size=4).map(tuple)),
    st.just(p.AReleaseRQ()),
    st.just(p.AReleaseRP()),
    st.builds(p.AAbort, st.sampled_from([0, 2]), u8),
)
