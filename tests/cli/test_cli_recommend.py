"""``accelml fit`` of a log of interactions and ``accelml recommend`` on MovieLens rows: one user's table, a file of
users to CSV, similar items, and every way of asking wrongly.

One recommender is fitted (through the CLI) per module and read by the other tests, so the file stays fast.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, isolated, restored_logging  # noqa: F401 (isolated: autouse)
from typer.testing import CliRunner, Result

from accelml.cli import app
from tests.conftest import shared_dataset

ROLES = ["--role", "user_id=user", "--role", "item_id=item"]
COLUMNS = ["user", "rank", "item", "score", "source"]
KNOWN_USER = "196"  # the log's first row


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli_recommend")


@pytest.fixture(scope="module")
def ratings_csv(workdir: Path) -> Path:
    path = workdir / "ratings.csv"
    pd.read_csv(shared_dataset("movielens_100k/ratings.csv")).head(2500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_dir(workdir: Path) -> Path:
    return workdir / "model"


@pytest.fixture(scope="module")
def fit_run(runner: CliRunner, ratings_csv: Path, model_dir: Path) -> Result:
    """One ``accelml fit`` of ratings with user and item roles; the tests below read its output and its model."""
    with restored_logging():
        result = runner.invoke(app, ["fit", str(ratings_csv), "--target", "rating", *ROLES, "--out", str(model_dir),
                                     "--time-limit", "8", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return result


def _table_rows(output: str) -> list[list[str]]:
    """The body rows of a printed Rich table: lines whose first cell is a rank."""
    return [line.split() for line in output.splitlines() if line.split() and line.split()[0].isdigit()]


def test_fit_prints_score_leaderboard_and_how_to_recommend(fit_run: Result, model_dir: Path) -> None:
    out = fit_run.stdout
    assert (model_dir / "manifest.json").is_file()
    assert not Path(f"{model_dir}.run").exists()  # a recommender records no trials
    assert "Leaderboard" in out and "ensemble" in out
    assert "Validation rmse" in out
    assert "Recommendation time" in out and "per user" in out
    assert f"accelml recommend {model_dir} --user" in out
    assert f"accelml predict {model_dir} PAIRS.csv" in out  # it learned ratings, so it rates pairs


def test_user_prints_a_table_of_k_items(runner: CliRunner, fit_run: Result, model_dir: Path) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), "--user", KNOWN_USER, "--k", "5"])
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.stdout)
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert all(row[-1] == "personal" for row in rows)
    assert f"user {KNOWN_USER}" in result.stdout and "score" in result.stdout


def test_unknown_user_gets_popular_items(runner: CliRunner, fit_run: Result, model_dir: Path) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), "--user", "nobody-at-all", "--k", "3"])
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.stdout)
    assert len(rows) == 3 and all(row[-1] == "popular" for row in rows)
    assert "not in the training data" in result.stdout


def test_users_file_writes_k_rows_per_user(runner: CliRunner, fit_run: Result, model_dir: Path,
                                           tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "user_id": [196, 186, 999_999]}).to_csv(users, index=False)
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", str(model_dir), "--users", str(users), "--out", str(out), "--k", "4"])
    assert result.exit_code == 0, result.output
    recs = pd.read_csv(out, dtype={"user": str, "item": str})
    assert list(recs.columns) == COLUMNS
    assert recs.groupby("user", sort=False).size().to_dict() == {"196": 4, "186": 4, "999999": 4}
    assert recs.groupby("user")["rank"].apply(list).tolist() == [[1, 2, 3, 4]] * 3
    assert set(recs.loc[recs["user"] == "999999", "source"]) == {"popular"}
    assert set(recs.loc[recs["user"] == "196", "source"]) == {"personal"}
    assert "12 recommendations for 3 users" in result.stdout


def test_users_file_without_the_user_column_uses_its_first(runner: CliRunner, fit_run: Result, model_dir: Path,
                                                           tmp_path: Path) -> None:
    users = tmp_path / "ids.csv"
    pd.DataFrame({"id": [196, 196, 186], "other": [1, 2, 3]}).to_csv(users, index=False)
    out = tmp_path / "recs.csv"
    result = runner.invoke(app, ["recommend", str(model_dir), "--users", str(users), "--out", str(out), "--k", "2"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out, dtype={"user": str})["user"].tolist() == ["196", "196", "186", "186"]  # once each


def test_out_is_never_overwritten_without_force(runner: CliRunner, fit_run: Result, model_dir: Path,
                                                tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    pd.DataFrame({"user_id": [196]}).to_csv(users, index=False)
    out = tmp_path / "recs.csv"
    out.write_text("keep me\n")
    args = ["recommend", str(model_dir), "--users", str(users), "--out", str(out)]
    assert_one_line_error(runner.invoke(app, args), "already exists", "--force")
    assert out.read_text() == "keep me\n"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 10


def test_similar_items(runner: CliRunner, fit_run: Result, model_dir: Path) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), "--similar", "242", "--k", "3"])
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.stdout)
    assert [row[0] for row in rows] == ["1", "2", "3"] and "242" not in [row[1] for row in rows]
    assert "Items most like item 242" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ([], ("--user ID", "--users FILE", "--similar ITEM")),
        (["--user", "1", "--similar", "2"], ("one of", "--user and --similar")),
        (["--user", "1", "--k", "0"], ("--k", "from 1 to 1,000", "got 0")),
        (["--user", "1", "--k", "1001"], ("--k", "from 1 to 1,000", "got 1001")),
        (["--users", "users.csv"], ("--users writes a file", "--out")),
        (["--users", "no-such-file.csv", "--out", "recs.csv"], ("no-such-file.csv", "not found")),
        (["--similar", "no-such-item"], ("'no-such-item'", "not in the catalogue")),
        (["--similar", "242", "--include-seen"], ("--include-seen",)),
    ],
)
def test_wrong_requests_fail_in_one_line(runner: CliRunner, fit_run: Result, model_dir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         fragments: tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(runner.invoke(app, ["recommend", str(model_dir), *args]), *fragments)


def test_missing_model_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", str(tmp_path / "nothing"), "--user", "1"])
    assert_one_line_error(result, "does not exist")


def test_a_table_model_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    from tests.serve.serve_helpers import fit_tiny

    model = fit_tiny("binary").save(tmp_path / "table")
    result = runner.invoke(app, ["recommend", str(model), "--user", "1"])
    assert_one_line_error(result, "this model predicts 'y' (binary)", "accelml recommend needs a model fitted with "
                                  "user and item roles")


def test_implicit_fit_needs_no_target_and_takes_side_tables(runner: CliRunner, ratings_csv: Path,
                                                            tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    pd.DataFrame({"item_id": [242, 302, 377], "genre": ["drama", "comedy", "drama"]}).to_csv(items, index=False)
    out = tmp_path / "implicit"
    with restored_logging():
        result = runner.invoke(app, ["fit", str(ratings_csv), *ROLES, "--item-table", str(items), "--out", str(out),
                                     "--time-limit", "5", "--max-trials", "2", "--models", "popularity",
                                     "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "Validation ndcg@10" in result.stdout
    assert f"accelml recommend {out} --user" in result.stdout
    assert "PAIRS.csv" not in result.stdout  # no ratings: nothing to rate pairs with
    listed = runner.invoke(app, ["recommend", str(out), "--user", KNOWN_USER, "--k", "2"])
    assert len(_table_rows(listed.stdout)) == 2


def test_fit_refuses_to_resume_a_recommender(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", *ROLES, "--resume", str(tmp_path / "m")])
    assert_one_line_error(result, "--resume", "recommender")


def test_a_table_fit_without_target_still_asks_for_it(runner: CliRunner, ratings_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["fit", str(ratings_csv), "--out", str(tmp_path / "m")])
    assert_one_line_error(result, "--target")
