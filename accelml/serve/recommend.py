"""A recommender behind the server: ``GET /recommend`` (one user's list), ``POST /recommend`` (a batch of users),
``POST /predict`` on (user, item) rows for a model that learned ratings, and what ``/metadata`` and ``/docs`` say.

Lists come from :meth:`accelml.ensemble.recommender.Recommender.recommend`: a user the model never saw gets the most
popular items (``source = "popular"``), never an error.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from accelml.exceptions import SchemaError
from accelml.features.interactions import id_text
from accelml.serve.body import load_json, read_body
from accelml.serve.schemas import ErrorResponse
from accelml.serve.settings import ServiceSettings

__all__ = [
    "BatchRecommendResponse",
    "RecommendResponse",
    "check_rates_pairs",
    "describe_recommender",
    "pairs_body_docs",
    "parse_batch",
    "rate_pairs",
    "recommend_lists",
    "recommend_router",
]

DEFAULT_K = 10


class RecommendedItem(BaseModel):
    rank: int = Field(description="1 for the best item.")
    item: str = Field(description="The item's id, as text.")
    score: float | None = Field(description="The blend's score (a predicted rating, a normalised relevance, or an "
                                            "item's interaction count for a popularity list); higher ranks first.")


class RecommendResponse(BaseModel):
    user: str = Field(description="The user's id, as text.")
    source: str = Field(description="personal (from the user's interactions), attributes (a user known only from "
                                    "the user table) or popular (a user the model never saw).")
    items: list[RecommendedItem]
    request_id: str | None = None


class BatchRecommendResponse(BaseModel):
    recommendations: list[RecommendResponse] = Field(description="One list per user, in the order sent.")
    request_id: str


def recommend_lists(rec: Any, users: list[Any], k: int, exclude_seen: bool) -> list[dict[str, Any]]:
    """One ``{"user", "source", "items"}`` per id of ``users`` (ids as text; a repeated id is computed once).

    Example:
        >>> class Stub:  # what the function reads of a Recommender
        ...     class interactions:
        ...         def user_index(ids):
        ...             return np.array([0 if u == "1" else -1 for u in ids])
        ...     def recommend(self, ids, k, exclude_seen):
        ...         return pd.DataFrame({"user": ["1", "9"], "rank": [1, 1], "item": ["a", "a"], "score": [2.0, 7.0],
        ...                              "source": ["personal", "popular"]})
        >>> [(r["user"], r["source"], r["items"]) for r in recommend_lists(Stub(), [1, "9", "1"], 1, True)]
        ... # doctest: +NORMALIZE_WHITESPACE
        [('1', 'personal', [{'rank': 1, 'item': 'a', 'score': 2.0}]),
         ('9', 'popular', [{'rank': 1, 'item': 'a', 'score': 7.0}]),
         ('1', 'personal', [{'rank': 1, 'item': 'a', 'score': 2.0}])]
    """
    ids = [str(u) for u in id_text(pd.Series(users, dtype=object))]
    unique = list(dict.fromkeys(ids))
    known = rec.interactions.user_index(unique) >= 0
    # A known user whose every item is excluded gets an empty list: still its own, not a popularity list
    lists = {u: {"user": u, "source": "personal" if seen else "popular", "items": []} for u, seen in zip(unique, known)}
    frame = rec.recommend(unique, k=k, exclude_seen=exclude_seen)
    for user, rank, item, score, source in zip(frame["user"], frame["rank"], frame["item"], frame["score"],
                                               frame["source"]):
        entry = lists[user]
        entry["source"] = source
        score = float(score)
        entry["items"].append({"rank": int(rank), "item": str(item), "score": score if math.isfinite(score) else None})
    return [lists[u] for u in ids]


def rate_pairs(rec: Any, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """The predicted rating of each (user, item) row of ``frame``, and per row the ids the model never saw (their
    rating falls back on the known side's mean, or the global mean).

    Raises:
        SchemaError: The user or the item column is missing.
    """
    user, item = rec.interactions.user, rec.interactions.item
    missing = [c for c in (user, item) if c not in frame.columns]
    if missing:
        raise SchemaError(f"the rows to rate need the columns {user!r} and {item!r} (missing: "
                          f"{', '.join(map(repr, missing))}); send one (user, item) pair per row")
    ratings = np.asarray(rec.predict_ratings(frame[user], frame[item]), dtype=np.float64)
    warnings: list[list[dict[str, Any]]] = [[] for _ in range(len(frame))]
    for column, what, known in ((user, "user", rec.interactions.user_index(frame[user])),
                                (item, "item", rec.interactions.item_index(frame[item]))):
        values = frame[column].to_numpy(dtype=object)
        for i in np.flatnonzero(known < 0):
            value = values[i]
            warnings[i].append({"column": column, "kind": f"unknown_{what}",
                                "message": f"{what} {value!r} was not in the training data; the rating falls back on "
                                           "mean ratings"})
    return ratings, warnings


def _check_users(users: Any, max_users: int) -> list[Any]:
    if not isinstance(users, list) or not users:
        raise HTTPException(422, "'users' must be a non-empty list of user ids (strings or whole numbers)")
    if len(users) > max_users:
        raise HTTPException(413, f"request has {len(users):,} users; the limit is {max_users:,} users per request, "
                                 "so split it")
    for i, user in enumerate(users):
        if isinstance(user, bool) or not isinstance(user, (str, int, float)) or (
                isinstance(user, float) and not user.is_integer()):
            raise HTTPException(422, f"users[{i}] is {user!r}; a user id is a string or a whole number")
    return [int(u) if isinstance(u, float) else u for u in users]  # 42.0 is user 42, as in the training ids


def _check_k(k: Any, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= max_k:
        raise HTTPException(422, f"'k' must be a whole number from 1 to {max_k:,}; got {k!r}")
    return k


def parse_batch(body: bytes, settings: ServiceSettings) -> tuple[list[Any], int, bool]:
    """The users, ``k`` and ``exclude_seen`` of a ``POST /recommend`` body; 413 or 422 saying what is wrong."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise HTTPException(422, "send {\"users\": [\"1\", \"2\"], \"k\": 10, \"exclude_seen\": true}")
    unknown = sorted(set(data) - {"users", "k", "exclude_seen"})
    if unknown:
        raise HTTPException(422, f"unknown field(s) {', '.join(map(repr, unknown))} in the request; expected "
                                 "'users' and optionally 'k' and 'exclude_seen'")
    if "users" not in data:
        raise HTTPException(422, "the request has no 'users' field; send {\"users\": [\"1\", \"2\"], \"k\": 10}")
    exclude_seen = data.get("exclude_seen", True)
    if not isinstance(exclude_seen, bool):
        raise HTTPException(422, f"'exclude_seen' must be true or false, got {exclude_seen!r}")
    users = _check_users(data["users"], settings.max_users)
    return users, _check_k(data.get("k", min(DEFAULT_K, settings.max_k)), settings.max_k), exclude_seen


def recommend_router(settings: ServiceSettings) -> APIRouter:
    """``GET`` and ``POST /recommend``, with ``k`` bounded by ``settings.max_k`` and a batch by
    ``settings.max_users``."""
    router = APIRouter(tags=["recommend"])
    max_k = settings.max_k
    errors = {422: {"model": ErrorResponse, "description": f"k outside 1 to {max_k:,}, or a malformed request."}}

    @router.get("/recommend", summary="One user's top items", response_model=RecommendResponse, responses=errors)
    async def recommend_one(
        request: Request,
        user: Annotated[str, Query(description="The user's id.", min_length=1)],
        # The bound is the server's, so the Query is a default value: string annotations cannot see max_k
        k: int = Query(min(DEFAULT_K, max_k), ge=1, le=max_k,
                       description=f"Items in the list, 1 to {max_k:,}."),
        exclude_seen: Annotated[bool, Query(description="Leave out the items the user already chose.")] = True,
    ) -> JSONResponse:
        """The user's top ``k`` items, best first; a user the model never saw gets the most popular items."""
        service = request.app.state.service
        lists = await run_in_threadpool(recommend_lists, service.recommender, [user], k, exclude_seen)
        request.app.state.metrics.rows.inc(1)
        return JSONResponse({**lists[0], "request_id": request.state.request_id})

    @router.post(
        "/recommend",
        summary="Top items of several users",
        response_model=BatchRecommendResponse,
        openapi_extra={"requestBody": _batch_body_docs(settings)},
        responses={413: {"model": ErrorResponse, "description": "More users, or a larger body, than the limit."},
                   **errors},
    )
    async def recommend_batch(request: Request) -> JSONResponse:
        """One list per user, in the order sent (see ``GET /recommend``)."""
        service = request.app.state.service
        body = await read_body(request, service.settings.max_body_bytes, "users")
        users, k, exclude_seen = parse_batch(body, service.settings)
        lists = await run_in_threadpool(recommend_lists, service.recommender, users, k, exclude_seen)
        request.app.state.metrics.rows.inc(len(lists))
        return JSONResponse({"recommendations": lists, "request_id": request.state.request_id})

    return router


def _batch_body_docs(settings: ServiceSettings) -> dict[str, Any]:
    ids = {"type": "array", "minItems": 1, "maxItems": settings.max_users,
           "items": {"type": ["string", "integer"]}, "description": "User ids."}
    return {
        "required": True,
        "description": f"At most {settings.max_users:,} users per request, each list at most {settings.max_k:,} "
                       "items.",
        "content": {"application/json": {
            "schema": {"type": "object", "required": ["users"], "additionalProperties": False, "properties": {
                "users": ids,
                "k": {"type": "integer", "minimum": 1, "maximum": settings.max_k,
                      "default": min(DEFAULT_K, settings.max_k)},
                "exclude_seen": {"type": "boolean", "default": True},
            }},
            "example": {"users": ["1", "2"], "k": min(DEFAULT_K, settings.max_k), "exclude_seen": True},
        }},
    }


def pairs_body_docs(rec: Any, settings: ServiceSettings) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``POST /predict`` for a recommender: (user, item) rows to rate."""
    user, item = rec.interactions.user, rec.interactions.item
    example = {user: rec.interactions.users[0], item: rec.interactions.items[0]}
    record = {"type": "object", "required": [user, item], "additionalProperties": True, "properties": {
        user: {"type": ["string", "integer"], "description": "user id"},
        item: {"type": ["string", "integer"], "description": "item id"}}}
    what = ("" if rec.explicit else " This model learned from interactions without ratings, so it rates no pairs: "
            "use /recommend.")
    return {
        "required": True,
        "description": f"(user, item) pairs to rate, at most {settings.max_rows:,} per request: JSON records or CSV "
                       f"with the columns {user!r} and {item!r}.{what}",
        "content": {
            "application/json": {"schema": {"type": "object", "required": ["records"], "properties": {
                "records": {"type": "array", "items": record, "maxItems": settings.max_rows}}},
                "example": {"records": [example]}},
            "text/csv": {"schema": {"type": "string"}, "example": pd.DataFrame([example]).to_csv(index=False)},
        },
    }


def check_rates_pairs(service: Any) -> None:
    """400 for ``POST /predict`` to a recommender that learned no ratings."""
    if not service.recommender.explicit:
        raise HTTPException(400, "this recommender learned from interactions without ratings, so it predicts no "
                                 "ratings; use GET /recommend?user=ID or POST /recommend for lists")


def describe_recommender(service: Any) -> dict[str, Any]:
    """What ``/metadata`` says of a recommender beyond the common fields: its columns, size, members and limits."""
    rec, settings = service.recommender, service.settings
    info = service.result.extra.get("recommend", {})
    return {
        "recommend": {"user": rec.interactions.user, "item": rec.interactions.item, "time": info.get("time"),
                      "explicit": rec.explicit, "n_users": rec.interactions.n_users,
                      "n_items": rec.interactions.n_items, "n_interactions": info.get("n_interactions"),
                      "attributes": rec.attributes,
                      "endpoints": ["GET /recommend", "POST /recommend"] + (["POST /predict"] if rec.explicit else [])},
        "ensemble": [{"name": m.name, "family": m.family, "kind": m.kind, "weight": m.weight}
                     for m in rec.members],
        "limits": {"max_body_bytes": settings.max_body_bytes, "max_rows": settings.max_rows,
                   "max_k": settings.max_k, "max_users": settings.max_users},
    }
