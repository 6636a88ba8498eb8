"""Great Expectations set-up for offline, fast validation through GX's pandas route.

GX's SQL datasource does not work on DuckDB, so frames are validated as pandas DataFrames. Two settings
matter: progress bars off (they ignore TQDM_DISABLE) and the per-batch fingerprint of the whole
DataFrame off (it is most of GX's time and is stored only as a batch marker).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

_lock = threading.Lock()
_counter = 0
_running = 0  # validations under way (see keep_configurations)
_kept: dict[int, tuple[Any, tuple, Any]] = {}


@lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx
    import great_expectations.execution_engine.pandas_execution_engine as pandas_engine
    from great_expectations.data_context.types.base import ProgressBarsConfig

    disable_fingerprint(pandas_engine)
    keep_configurations()
    plain_ids()
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def prepare() -> None:
    """Import and set up Great Expectations (once per process)."""
    with _lock:
        _context()


def disable_fingerprint(pandas_engine: Any) -> None:
    """Switch off GX's MD5 fingerprint of every DataFrame batch (a private constant; tested)."""
    if not hasattr(pandas_engine, "HASH_THRESHOLD"):
        raise RuntimeError("great_expectations changed: pandas_execution_engine.HASH_THRESHOLD is gone")
    pandas_engine.HASH_THRESHOLD = 0


def keep_configurations() -> None:
    """Let each expectation keep the ``ExpectationConfiguration`` GX builds from it (a public property of
    GX's ``Expectation``) until one of its fields is replaced.

    GX rebuilds that configuration from a full pydantic ``dict()`` of the expectation every time it is read,
    some 80 times per expectation in one validation: a third of the validation's time. Configurations are
    kept only while a validation of :func:`run` is under way (and forgotten when the last one ends), and one
    is rebuilt as soon as a field of its expectation holds another object (GX sets ``id`` when an expectation
    is saved, for example); the project never changes an expectation after it has built it.
    """
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.__dict__.get("configuration")
    if not isinstance(built, property):
        raise RuntimeError("great_expectations changed: Expectation.configuration is no longer a property")
    if getattr(built.fget, "_rbb_kept", False):
        return

    def configuration(self: Any) -> Any:
        if not _running:
            return built.fget(self)
        marks = tuple(map(id, self.__dict__.values()))
        hit = _kept.get(id(self))
        if hit is not None and hit[0] is self and hit[1] == marks:
            return hit[2]
        config = built.fget(self)
        _kept[id(self)] = (self, marks, config)
        return config

    configuration._rbb_kept = True  # type: ignore[attr-defined]
    Expectation.configuration = property(configuration)  # type: ignore[method-assign]


def plain_ids() -> None:
    """Give GX's ``IDDict.to_id`` (the key of every metric configuration, tens of thousands per validation) a
    fast path for plain JSON data: the same MD5 of the same ``json.dumps`` as GX's own, without its recursive
    ``convert_to_json_serializable``, which leaves such data as it is. Anything else (a NaN, which GX turns
    into null; numpy values; GX's own objects; a dict key that is not text) takes GX's route unchanged."""
    from great_expectations.core.id_dict import IDDict

    own = IDDict.__dict__.get("to_id")
    if own is None or getattr(own, "_rbb_plain", False):
        return

    def to_id(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        keys = set(self.keys() if id_keys is None else id_keys) - set(
            self._id_ignore_keys if id_ignore_keys is None else id_ignore_keys
        )
        if len(keys) < 2 or not all(_plain(self[k]) for k in keys):
            return own(self, id_keys, id_ignore_keys)
        text = json.dumps({k: self[k] for k in keys}, sort_keys=True)
        return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    to_id._rbb_plain = True  # type: ignore[attr-defined]
    to_id.gx_own = own  # type: ignore[attr-defined]
    _dict_types.append(IDDict)
    IDDict.to_id = to_id  # type: ignore[method-assign]


#: the dict types GX converts key by key (GX's IDDict is added once it is imported)
_dict_types: list[type] = [dict]


def _plain(value: Any) -> bool:
    """Whether GX's ``convert_to_json_serializable`` returns ``value`` as JSON sees it (text, whole numbers,
    booleans, None, finite or infinite floats, lists, tuples and plain dicts of them with text keys)."""
    kind = value.__class__
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return value == value  # NaN: GX writes null
    if kind is list or kind is tuple:
        return all(map(_plain, value))
    if kind in _dict_types:
        return all(k.__class__ is str and _plain(v) for k, v in value.items())
    return False


def expectations() -> Any:
    import great_expectations.expectations as gxe

    return gxe


@lru_cache(maxsize=1)
def _suite_class() -> type:
    import great_expectations as gx

    class Suite(gx.ExpectationSuite):
        """A suite that is never saved in a store, whose ``add_expectation`` keeps GX's set semantics (an
        expectation equal to one already there apart from its id, notes and meta is not added again) with a
        key per expectation instead of GX's comparison with every expectation already there (quadratic:
        seconds for a sheet's suite of a few hundred expectations in every ingest run)."""

        __slots__ = ("_keys",)

        def add_expectation(self, expectation: Any) -> Any:
            if expectation.id:
                raise RuntimeError("the expectation already belongs to a suite")
            try:
                keys = self._keys
            except AttributeError:
                keys = self._keys = set()
            key = (expectation.expectation_type, repr(sorted(expectation.dict(exclude=_NOT_COMPARED).items())))
            if key not in keys:
                keys.add(key)
                self.expectations.append(expectation)
            return expectation

    return Suite


#: what GX's ExpectationSuite._expectations_are_equalish leaves out when it compares two expectations
_NOT_COMPARED = {"id", "rendered_content", "notes", "meta"}


def new_suite(name: str) -> Any:
    prepare()
    return _suite_class()(name=name)


#: What the findings need of a result: every unexpected row's index columns (``unexpected_index_list``). Not
#: asked for: GX's pandas query string for those rows (a filter of the whole frame per expectation) and the
#: counts of the first unexpected values.
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False, "partial_unexpected_count": 0}


def run(frame: Any, suite: Any, index_columns: list[str]) -> list[Any]:
    """Validate one DataFrame against a suite; returns GX's per-expectation results.

    GX filters and copies the whole frame for every expectation it evaluates, so it is handed only the
    columns the suite's expectations name and the index columns (the same results: no expectation reads
    another column), in one block per dtype (a frame built column by column holds a block per column, and
    each of GX's copies then costs a copy per column)."""
    global _counter, _running
    prepare()
    cols = _columns_used(suite, index_columns)
    if cols is not None and cols <= set(frame.columns):
        narrow = [c for c in frame.columns if c in cols]
        if len(narrow) < len(frame.columns):
            frame = frame[narrow]
    frame = frame.copy()  # consolidated: one block per dtype
    ctx = _context()
    with _lock:
        _counter += 1
        _running += 1
        name = f"frame_{_counter}"
    try:
        source = ctx.data_sources.add_pandas(name)
        try:
            batch_def = source.add_dataframe_asset("asset").add_batch_definition_whole_dataframe("whole")
            batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                suite,
                result_format=RESULT_FORMAT | {"unexpected_index_column_names": index_columns},
            )
        finally:
            ctx.data_sources.delete(name)
    finally:
        with _lock:
            _running -= 1
            if not _running:
                _kept.clear()
    return list(result.results)


def _columns_used(suite: Any, index_columns: list[str]) -> set[str] | None:
    """The columns the suite's expectations read, with ``index_columns``; None when an expectation may read
    others (a row condition, or a column argument of a kind not known here)."""
    cols = set(index_columns)
    for e in suite.expectations:
        if getattr(e, "row_condition", None):
            return None
        named = False
        for attr in ("column", "column_A", "column_B"):
            value = getattr(e, attr, None)
            if value is not None:
                if not isinstance(value, str):
                    return None
                cols.add(value)
                named = True
        value = getattr(e, "column_list", None)
        if value is not None:
            cols.update(value)
            named = True
        if not named:
            return None
    return cols
