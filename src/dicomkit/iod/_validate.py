"""Validate a data set against its IOD (PS3.3) and the attribute rules of PS3.5 7.4.

For each module of the IOD that applies (M, C whose condition holds, U whose condition holds
or whose attributes are present): Type 1 present with a value, Type 2 present, Type 1C/2C as
1/2 when their condition holds (conditions evaluated over the data set, see
:mod:`.conditions`), enumerated values and defined terms, the module's VM, and the same
recursively in every sequence item. A conditional attribute present although its condition
does not hold, where the standard says it shall not be, is an error (PS3.5 7.4.2, 7.4.4).
A module the IOD makes optional counts as present when any of its attributes is (Type 3
included, unless a mandatory module holds the same attribute). Then every element on its own:
VR and VM against the data dictionary (private elements against the private dictionary of
their creator), value form, unknown and retired attributes, attributes no module of the IOD
defines; and the instance as a whole (File Meta against the data set, UIDs reused for
different objects, the VR of Pixel Data, see :mod:`.instance`). A data set holding UN
elements is validated as their dictionary VRs would have it (:mod:`.retype`). A condition
that cannot be decided is reported as ``not-checked``, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from dicomkit.core._dataset import Dataset
from dicomkit.core._tag import format_tag
from dicomkit.dictionary import DictEntry, entry_for_tag, keyword_for_tag, private_entry, tags
from dicomkit.errors import DicomError
from dicomkit.iod._evaluate import UNDECIDABLE, Context, evaluate, values_of
from dicomkit.iod._elements import element_problems, vm_allows
from dicomkit.iod._instance import instance_problems
from dicomkit.iod._model import IOD, Attribute, Check, ValueSet, iod_for_sop_class, module
from dicomkit.iod._retype import has_un, retyped

__all__ = ["Finding", "Severity", "validate"]

Severity = Literal["error", "warning", "not-checked"]

_SOP_CLASS_UID = 0x00080016
_MEDIA_SOP_CLASS_UID = 0x00020002
_FILE_META = "FileMetaInformation"
_PIXEL_ASPECT_RATIO = 0x00280034
_TRAILING_PADDING = 0xFFFCFFFC  # Data Set Trailing Padding: allowed in any data set
_REPEATING = (0x5000, 0x6000)
# Sequences whose items may hold attributes beyond those the module lists: directory records
# (PS3.3 F.5: other keys may be included as Type 3), original / modified attributes (PS3.3 C.12.1)
_OPEN_SEQUENCES = frozenset(
    {tags.DirectoryRecordSequence, tags.OriginalAttributesSequence, tags.ModifiedAttributesSequence}
)  # curve and overlay groups: 50xx / 60xx (PS3.5 7.6)
#: The templates' marker for "an empty value is one of the allowed values".
_EMPTY_ALLOWED = "***EMPTYVALUE***"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found: where (tag path, module) and what."""

    severity: Severity
    path: str  # "(0040,0275)[0]/(0040,0009)": sequence items by 0-based index
    module: str  # the module (or "" for data-dictionary checks)
    message: str
    tag: int = 0

    def __str__(self) -> str:
        label = {"error": "Error", "warning": "Warning", "not-checked": "Not checked"}
        kw = keyword_for_tag(self.tag) if self.tag else ""
        where = f"{self.path} {kw}".strip()
        mod = f" [module {self.module}]" if self.module else ""
        return f"{label[self.severity]} - {where}: {self.message}{mod}"

    def as_dict(self) -> dict[str, Any]:
        """The finding as a plain dict (what ``dicomkit validate --json`` prints)."""
        return asdict(self)


class _Run:
    """One validation: the findings so far, de-duplicated."""

    def __init__(self, implicit: bool = False) -> None:
        self.findings: dict[tuple[str, str, str, str], Finding] = {}
        # implicit VR: the dictionary's VR is the element's VR (PS3.5 7.1.3), so a value
        # still UN after re-typing is one that could not be read as that VR
        self.implicit = implicit

    def add(self, severity: Severity, path: str, module: str, message: str, tag: int) -> None:
        key = (severity, path, module, message)
        self.findings.setdefault(key, Finding(severity, path, module, message, tag))

    # -- one level (a module, or the items of a sequence) ------------------------------------
    def level(
        self,
        attrs: Iterable[Attribute],
        checks: Iterable[Check],
        ctx: Context,
        prefix: str,
        mod: str,
    ) -> None:
        for attr in attrs:
            if self._guarded(attr.guards, ctx, prefix, mod):
                for tag in _concrete_tags(attr.tag, ctx.ds):
                    self.attribute(attr, tag, ctx, prefix, mod)
        for check in checks:
            if self._guarded(check.guards, ctx, prefix, mod):
                self.check(check, ctx, prefix, mod)

    def _guarded(self, guards: tuple[str, ...], ctx: Context, prefix: str, mod: str) -> bool:
        for guard in guards:
            result = evaluate(guard, ctx)
            if result is None:
                self.add(
                    "not-checked",
                    prefix or "/",
                    mod,
                    f"condition {guard} of a macro could not be evaluated",
                    0,
                )
                return False
            if not result:
                return False
        return True

    def attribute(self, attr: Attribute, tag: int, ctx: Context, prefix: str, mod: str) -> None:
        ds = ctx.ds
        path = f"{prefix}/{format_tag(tag)}" if prefix else format_tag(tag)
        present = tag in ds
        try:
            value = ds[tag].value if present else None
        except (DicomError, ValueError):
            return  # an undecodable value: reported by the data-dictionary checks
        empty = present and not values_of(value)
        typ = attr.type
        required = typ in ("1", "2")
        if attr.is_conditional:
            cond = attr.condition
            result = None if cond == UNDECIDABLE else evaluate(cond, ctx)
            if result is None and not present:
                why = (
                    "no condition a program can evaluate"
                    if cond == UNDECIDABLE
                    else f"condition {cond} could not be evaluated"
                )
                self.add("not-checked", path, mod, f"Type {typ} attribute absent; {why}", tag)
            elif result:
                required = True
            elif result is False and present and not attr.may_be_present_otherwise:
                self.add(
                    "error",
                    path,
                    mod,
                    f"Type {typ} attribute present although condition {cond} is not satisfied; "
                    "it shall not be included then (PS3.5 7.4.2, 7.4.4)",
                    tag,
                )
        if required and not present:
            why = f" (condition {attr.condition} satisfied)" if attr.is_conditional else ""
            self.add("error", path, mod, f"missing attribute, Type {typ} required{why}", tag)
        if typ.startswith("1") and empty:
            self.add("error", path, mod, f"empty attribute (no value), Type {typ} required", tag)
        if not present or empty:
            return
        if attr.is_sequence:
            if not isinstance(value, list):
                self.add(
                    "warning",
                    path,
                    mod,
                    f"not read as a sequence (VR {ds[tag].vr}); its items were not checked",
                    tag,
                )
                return
            items = [i for i in value if isinstance(i, Dataset)]
            if attr.vm and not vm_allows(attr.vm, len(items)):
                self.add(
                    "error",
                    path,
                    mod,
                    f"sequence has {len(items)} items where the module allows {attr.vm}",
                    tag,
                )
            children, checks = attr.children, attr.checks
            known = {a.tag for a in children}
            for i, item in enumerate(items):
                self.level(children, checks, ctx.child(item), f"{path}[{i}]", mod)
                if known and tag not in _OPEN_SEQUENCES:
                    self.extra(item, known, f"{path}[{i}]", mod, f"{attr.keyword} items")
            return
        values = values_of(value)
        if (
            attr.vm
            and not isinstance(value, (bytes, bytearray, memoryview))
            and not vm_allows(attr.vm, len(values))
        ):
            self.add(
                "error", path, mod, f"{len(values)} values where the module's VM is {attr.vm}", tag
            )
        self.values(attr.values, values, path, mod, tag)

    def values(
        self, sets: tuple[ValueSet, ...], values: list[Any], path: str, mod: str, tag: int
    ) -> None:
        for vs in sets:
            chosen = values if vs.index < 0 else values[vs.index : vs.index + 1]
            which = "" if vs.index < 0 else f" (value {vs.index + 1})"
            if vs.kind == "nonzero":
                if any(_is_zero(v) for v in chosen):
                    sev: Severity = "error" if vs.strict else "warning"
                    what = "not permitted" if vs.strict else "unexpected"
                    self.add(sev, path, mod, f"value is zero{which}, which is {what}", tag)
                continue
            if not vs.values:
                continue
            for v in chosen:
                if _matches(vs, v):
                    continue
                if vs.strict:
                    self.add(
                        "error",
                        path,
                        mod,
                        f"unrecognised enumerated value {_show(v)}{which}; allowed: "
                        f"{', '.join(_show(x) for x in vs.values[:12])}",
                        tag,
                    )
                else:
                    self.add(
                        "warning", path, mod, f"unrecognised defined term {_show(v)}{which}", tag
                    )

    def check(self, check: Check, ctx: Context, prefix: str, mod: str) -> None:
        tag = check.tag
        if tag not in ctx.ds:
            return
        path = f"{prefix}/{format_tag(tag)}" if prefix else format_tag(tag)
        holds = evaluate(check.condition, ctx) if check.condition else True
        if check.values and holds:
            self.values(check.values, values_of(ctx.ds[tag].value), path, mod, tag)
        if check.severity and check.condition and holds:
            sev: Severity = "error" if check.severity == "error" else "warning"
            self.add(sev, path, mod, check.message, tag)

    def extra(self, ds: Dataset, known: set[int], prefix: str, mod: str, where: str) -> None:
        """Warn of standard attributes in ``ds`` that ``known`` (what may be there) lacks."""
        for tag in ds:
            group = tag >> 16
            if group & 1 or tag & 0xFFFF == 0 or tag in known or tag == _TRAILING_PADDING:
                continue
            if group & 0xFF00 in _REPEATING and (tag & 0xFF00FFFF) in known:
                continue
            entry = entry_for_tag(tag)
            if entry is None or entry.retired:
                continue  # reported once, by the data-dictionary checks
            path = f"{prefix}/{format_tag(tag)}" if prefix else format_tag(tag)
            self.add("warning", path, mod, f"attribute not defined in {where}", tag)

    # -- every element against the dictionary ------------------------------------------------
    def elements(self, ds: Dataset, prefix: str) -> None:
        for el in ds.elements():
            tag = int(el.tag)
            path = f"{prefix}/{format_tag(tag)}" if prefix else format_tag(tag)
            try:
                value = el.value
            except (DicomError, ValueError) as exc:  # an undecodable value is itself a finding
                self.add("error", path, "", f"value cannot be decoded: {exc}", tag)
                continue
            raw = el.raw
            found = element_problems(
                tag,
                el.vr,
                value,
                bytes(raw) if raw is not None and el.vr not in ("SQ", "OB", "OW", "UN") else None,
                _private_entry(ds, tag) if tag >> 16 & 1 else None,
            )
            if self.implicit and el.vr == "UN" and not tag >> 16 & 1:
                entry = entry_for_tag(tag)
                if entry is not None and entry.vr not in ("UN", "NONE"):
                    self.add(
                        "error",
                        path,
                        "",
                        f"value cannot be decoded as {entry.vr}, the data dictionary's VR, "
                        "which implicit VR gives every element (PS3.5 7.1.3, A.1)",
                        tag,
                    )
                    continue
            for severity, message in found:
                self.add(severity, path, "", message, tag)  # type: ignore[arg-type]
            if isinstance(value, list) and el.vr == "SQ":
                for i, item in enumerate(value):
                    if isinstance(item, Dataset):
                        self.elements(item, f"{path}[{i}]")


def _concrete_tags(tag: int, ds: Dataset) -> list[int]:
    """The tags an attribute stands for here: 60xx/50xx rows once per group present."""
    group = tag >> 16
    if group not in _REPEATING:
        return [tag]
    elem = tag & 0xFFFF
    groups = sorted({t >> 16 for t in ds if t >> 16 & 0xFF00 == group and not t >> 16 & 1})
    return [g << 16 | elem for g in groups] or [tag]


def _is_zero(v: Any) -> bool:
    try:
        return float(v) == 0.0
    except (TypeError, ValueError):
        return False


def _matches(vs: ValueSet, v: Any) -> bool:
    if vs.kind in ("binary", "tag"):
        try:
            n = int(v)
        except (TypeError, ValueError):
            return False
        # the templates write signed values as their unsigned bit pattern (-1 in SS: 0xFFFF)
        return n in vs.values or (
            n < 0 and (n & 0xFFFF in vs.values or n & 0xFFFFFFFF in vs.values)
        )
    text = str(v).strip(" \0")
    return text in vs.values or (not text and _EMPTY_ALLOWED in vs.values)


def _private_entry(ds: Dataset, tag: int) -> DictEntry | None:
    """The private dictionary's entry for ``tag`` under its block's creator (PS3.5 7.8.1)."""
    element = tag & 0xFFFF
    if element < 0x1000:
        return None  # a Private Creator itself, or a group length
    creator_tag = (tag & 0xFFFF0000) | element >> 8
    if creator_tag not in ds:
        return None
    try:
        creator = ds[creator_tag].value
    except (DicomError, ValueError):
        return None
    if not isinstance(creator, str):
        return None
    return private_entry(tag, creator)


def _show(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:#06x}" if v > 9 else str(v)
    return repr(str(v))


def _module_present(name: str, ds: Dataset, mandatory: frozenset[int] = frozenset()) -> bool:
    """Any attribute of the module is there; a Type 3 one counts unless a mandatory module of
    the IOD holds it too (then its presence says nothing of this module)."""
    return any(
        a.tag in ds and (a.type != "3" or a.tag not in mandatory) for a in module(name).attributes
    )


def _only_conditional(iod: IOD, tag: int) -> bool:
    """The IOD's modules list ``tag`` at their top level, and only as Type 1C or 2C."""
    types = {a.type for usage in iod.modules for a in usage.module.attributes if a.tag == tag}
    return bool(types) and all(t.endswith("C") for t in types)


def _mandatory_tags(iod: IOD) -> frozenset[int]:
    return frozenset(
        a.tag for usage in iod.modules if usage.usage == "M" for a in usage.module.attributes
    )


def _iod_of(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    sop = ds.get(_SOP_CLASS_UID)
    if not sop and meta is not None:
        sop = meta.get(_MEDIA_SOP_CLASS_UID)
    return str(sop or "").strip()


def _root_tags(iod: IOD) -> set[int]:
    tags: set[int] = set()
    for usage in iod.modules:
        for attr in usage.module.attributes:
            tags.add(attr.tag)
    return tags


def _sr_content_checks(ds: Dataset, run: _Run) -> None:
    """SR documents: the content-tree constraints of the IOD (PS3.3 A.35, C.17.3) and of the
    root template (PS3.16), from :mod:`dicomkit.sr` (imported only for SR documents)."""
    if tags.ValueType not in ds:  # Value Type: no SR Document Content module
        return
    from dicomkit.sr._constraints import check
    from dicomkit.sr._reader import read_content
    from dicomkit.sr.templates._conformance import template_problems

    module = "SRContentTree"
    try:
        root = read_content(ds)
    except DicomError as exc:
        run.add("error", "(0040,A730)", module, f"content tree: {exc}", tags.ContentSequence)
        return
    problems = check(root, str(ds.get(_SOP_CLASS_UID) or "")) + template_problems(root)
    for problem in problems:
        run.add("error", "(0040,A730)", module, str(problem), tags.ContentSequence)


def validate(ds: Dataset, *, iod: IOD | None = None, dictionary: bool = True) -> list[Finding]:
    """Check ``ds`` against its IOD (chosen by SOP Class UID unless ``iod`` is given).

    Returns the findings in a stable order: errors, warnings, then what was not checked.
    ``dictionary=False`` skips the per-element data-dictionary checks.
    """
    run = _Run(bool(ds.is_implicit_vr))
    original = ds
    if has_un(ds):
        ds = retyped(ds)  # a copy: the caller's data set keeps its UN elements
    if iod is None:
        uid = _iod_of(ds)
        try:
            iod = iod_for_sop_class(uid)
        except KeyError:
            what = f"SOP class {uid}" if uid else "no SOP Class UID"
            run.add(
                "warning",
                format_tag(_SOP_CLASS_UID),
                "",
                f"{what}: no IOD known, only data-dictionary checks made",
                _SOP_CLASS_UID,
            )
    root = Context.for_root(ds)
    if iod is not None:
        mandatory = _mandatory_tags(iod)
        for usage in iod.modules:
            name = usage.name
            ctx = root
            if name == _FILE_META:
                if root.file_meta is None:
                    continue
                ctx = Context(root.file_meta, (), root.file_meta)
            if usage.usage != "M":
                result = evaluate(usage.condition, root) if usage.condition else None
                if result is None:
                    if usage.usage == "C" and not _module_present(name, ctx.ds, mandatory):
                        msg = (
                            f"conditional module; condition {usage.condition or '-'} could "
                            "not be evaluated"
                        )
                        run.add("not-checked", "/", name, msg, 0)
                        continue
                    if not _module_present(name, ctx.ds, mandatory):
                        continue
                elif not result:
                    continue
            mod = usage.module
            run.level(mod.attributes, mod.checks, ctx, "", name)
        run.extra(ds, _root_tags(iod), "", "", f"the {iod.name} IOD")
    _sr_content_checks(ds, run)
    conditional_ratio = iod is not None and _only_conditional(iod, _PIXEL_ASPECT_RATIO)
    for tag, message in instance_problems(ds, aspect_ratio_conditional=conditional_ratio):
        run.add("error", format_tag(tag), "", message, tag)
    if dictionary:
        if original is not ds:
            run.elements(original, "")  # "VR UN where the data dictionary gives ..."
        run.elements(ds, "")
        if root.file_meta is not None:
            run.elements(root.file_meta, "")
    order = {"error": 0, "warning": 1, "not-checked": 2}
    return sorted(
        run.findings.values(), key=lambda f: (order[f.severity], f.path, f.module, f.message)
    )
