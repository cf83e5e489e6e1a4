"""The schema: each column's role and what the model learned to expect from it. Stored as JSON in the artifact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

__all__ = ["DROPPED_FEATURES", "GENERATED_FEATURES", "ColumnRole", "ColumnSpec", "Schema"]

# schema.extra: the feature columns that feature selection dropped (the models never read them)
DROPPED_FEATURES = "dropped_features"
# schema.extra: the generated columns every table preprocessor appends (specs of accelml.features.generated, chosen by
# accelml.search.generation)
GENERATED_FEATURES = "generated_features"


class ColumnRole(str, Enum):
    """What a column is, which decides how it is preprocessed (or whether it is dropped)."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"
    # Given by the user, never inferred: the moment a row was observed (a datetime feature that also orders
    # validation: no row is validated with later rows in training), and the group a row belongs to (a patient, a
    # customer: grouped validation keeps a group's rows on one side; not a feature).
    TIME = "time"
    GROUP = "group"
    # One image per row: a path to an image file (relative paths are resolved against the table's folder when it is
    # read) or an in-memory uint8 array (H, W[, C]). Inferred from paths with image extensions, or from arrays.
    IMAGE = "image"
    # Given by the user, never inferred: who interacted with what. A table with a USER and an ITEM column is a log of
    # interactions and its task is recommendation; the ids are keys, never features of a table model.
    USER = "user"
    ITEM = "item"

    @property
    def is_feature(self) -> bool:
        """Identifiers, constants and group ids carry no signal and are dropped before training; user and item ids are
        the keys of a recommender, not features."""
        return self not in (ColumnRole.IDENTIFIER, ColumnRole.CONSTANT, ColumnRole.GROUP, ColumnRole.USER,
                            ColumnRole.ITEM)

    @property
    def is_datetime(self) -> bool:
        """Read, encoded and profiled as dates and times."""
        return self in (ColumnRole.DATETIME, ColumnRole.TIME)


@dataclass
class ColumnSpec:
    """One input column: its name, inferred (or given) role, the pandas dtype seen in training, and null fraction."""

    name: str
    role: ColumnRole
    dtype: str
    missing_fraction: float = 0.0
    n_unique: int = 0
    user_role: bool = False  # True when the role came from the user's override, not inference

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["role"] = self.role.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSpec:
        return cls(**{**d, "role": ColumnRole(d["role"])})


@dataclass
class Schema:
    """All input columns (features and dropped ones), the target and the task."""

    columns: list[ColumnSpec]
    target: str
    task: str
    classes: list[Any] | None = None  # class labels in encoded order (classification only)
    extra: dict[str, Any] = field(default_factory=dict)
    # name -> position in ``columns``, rebuilt when a lookup finds it out of date: a scan per lookup made per-column
    # work quadratic in the columns (saving 5,000 columns' preprocessors took seconds)
    _positions: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name`` (``KeyError`` if none).

        >>> schema = Schema([ColumnSpec("a", ColumnRole.NUMERIC, "float64")], target="y", task="regression")
        >>> schema.columns.append(ColumnSpec("b", ColumnRole.TEXT, "object"))
        >>> schema.column("b").role.value, schema.column("a").name
        ('text', 'a')
        """
        pos = self._positions.get(name)
        if pos is None or pos >= len(self.columns) or self.columns[pos].name != name:
            self._positions = {}
            for i, c in enumerate(self.columns):
                self._positions.setdefault(c.name, i)
            pos = self._positions.get(name)
            if pos is None:
                raise KeyError(name)
        return self.columns[pos]

    @property
    def features(self) -> list[ColumnSpec]:
        """Columns used for training, in input order: those of a feature role, less any that feature selection
        dropped (``extra["dropped_features"]``, see :mod:`accelml.search.selection`).

        >>> schema = Schema([ColumnSpec("a", ColumnRole.NUMERIC, "float64"), ColumnSpec("b", ColumnRole.NUMERIC,
        ...                  "float64")], target="y", task="regression", extra={"dropped_features": ["b"]})
        >>> [c.name for c in schema.features]
        ['a']
        """
        dropped = self.extra.get(DROPPED_FEATURES)
        if dropped:
            gone = set(dropped)
            return [c for c in self.columns if c.role.is_feature and c.name not in gone]
        return [c for c in self.columns if c.role.is_feature]

    def names(self, *roles: ColumnRole) -> list[str]:
        return [c.name for c in self.columns if c.role in roles]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "target": self.target,
            "task": self.task,
            "classes": self.classes,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        return cls(
            columns=[ColumnSpec.from_dict(c) for c in d["columns"]],
            target=d["target"],
            task=d["task"],
            classes=d.get("classes"),
            extra=d.get("extra", {}),
        )
