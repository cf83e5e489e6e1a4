"""Images through the server: multipart uploads and base64 JSON for a model with an image column, every limit, and
the endpoints around ``POST /predict`` (docs, metadata, monitor, prediction log) with image requests."""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")
pytest.importorskip("httpx")
pytest.importorskip("multipart")
Image = pytest.importorskip("PIL.Image")
load_digits = pytest.importorskip("sklearn.datasets").load_digits

with warnings.catch_warnings():  # starlette warns that its test client will move to httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import accelml
from accelml.data.images import decode_image
from accelml.exceptions import ConfigError
from accelml.serve import create_app
from accelml.serve.openapi import EXAMPLE_IMAGE
from accelml.serve.settings import ServiceSettings
from tests.serve.serve_helpers import assert_clean_error, fit_tiny

CLASSES = 3


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def digits():
    """Digit images as uint8 (8 x 8, grey) and their labels: 20 per class for training, the rest to predict."""
    data = load_digits()
    keep = data.target < CLASSES
    images = np.clip(data.images[keep] * 16, 0, 255).astype(np.uint8)
    return images, data.target[keep]


@pytest.fixture(scope="module")
def image_dir(digits, tmp_path_factory):
    images, labels = digits
    root = tmp_path_factory.mktemp("digits")
    for c in range(CLASSES):
        (root / str(c)).mkdir()
        for i in np.flatnonzero(labels == c)[:20]:
            Image.fromarray(images[i]).save(root / str(c) / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def model(image_dir):
    return accelml.AutoML(time_limit=15, n_jobs=1, models=["linear"], n_splits=2, max_trials=2).fit(str(image_dir))


@pytest.fixture(scope="module")
def model_dir(model, tmp_path_factory):
    return model.save(tmp_path_factory.mktemp("serve_images") / "model")


@pytest.fixture(scope="module")
def mixed(image_dir):
    """A model of an image and two other columns (a number and a category)."""
    from accelml.data.images import scan_image_folder

    frame = scan_image_folder(image_dir).frame
    rng = np.random.default_rng(0)
    frame["ink"] = rng.normal(size=len(frame))
    frame["tone"] = rng.choice(["a", "b", "c"], size=len(frame))
    return accelml.AutoML(time_limit=15, n_jobs=1, models=["linear"], n_splits=2, max_trials=2).fit(
        frame, target="label")


@pytest.fixture()
def client(model_dir):
    return TestClient(create_app(model_dir))


@pytest.fixture(scope="module")
def tests(digits):
    """Six images the model never saw, two per class."""
    images, labels = digits
    rows = np.concatenate([np.flatnonzero(labels == c)[-2:] for c in range(CLASSES)])
    return [images[i] for i in rows]


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def upload(files: list[tuple[str, bytes]], field: str = "files") -> list:
    return [(field, (name, data, "application/octet-stream")) for name, data in files]


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body with boundary ``xyz``: (field, file name or None for a text field, content)."""
    out = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--xyz\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + b"--xyz--\r\n"


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` grey pixels, with one tiny data chunk: a bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


# ----------------------------------------------------------------------------------------------- predictions
def test_upload_one_and_several_files(client, model, tests):
    response = client.post("/predict", files=upload([("seven.png", encode(tests[0]))]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["names"] == ["seven.png"] and body["n_rows"] == 1
    assert body["predictions"] == model.predict([tests[0]]).tolist()

    files = [(f"d{i}.{'jpg' if i % 2 else 'png'}", encode(a, "JPEG" if i % 2 else "PNG")) for i, a in enumerate(tests)]
    body = client.post("/predict", files=upload(files, field="image")).json()
    assert body["names"] == [name for name, _ in files]
    expected = model.predict([decode_image(data)[:, :, 0] for _, data in files])  # JPEG is lossy: what was sent
    assert body["predictions"] == expected.tolist()
    assert len(body["warnings"]) == len(files) and "probabilities" not in body


def test_base64_json_matches_the_library(client, model, tests):
    expected = model.predict(tests).tolist()
    plain = [b64(encode(a)) for a in tests]
    body = client.post("/predict", json={"images": plain}).json()
    assert body["predictions"] == expected
    assert body["names"] == [str(i) for i in range(len(tests))]

    named = [{"name": f"n{i}.png", "data": f"data:image/png;base64,{s}"} for i, s in enumerate(plain)]
    named[1] = {"data": base64.encodebytes(encode(tests[1])).decode()}  # wrapped at 76 characters, no name
    named[2] = {"name": "safe.png", "data": base64.urlsafe_b64encode(encode(tests[2])).decode().rstrip("=")}
    body = client.post("/predict", json={"images": named}).json()
    assert body["predictions"] == expected
    assert body["names"] == ["n0.png", "1", "safe.png", "n3.png", "n4.png", "n5.png"]

    body = client.post("/predict", json={"records": [{"image": s} for s in plain]}).json()
    assert body["predictions"] == expected and body["names"][0] == "0"


def test_images_are_decoded_and_predicted_in_bounded_batches(client, model, tests, monkeypatch):
    from accelml.serve import images

    monkeypatch.setattr(images, "DECODED_BYTES", 100)  # 64 bytes per digit: a batch of two images at a time
    rows = images.parse_image_json(b'{"images": ["%s", "%s", "%s"]}' % tuple(b64(encode(a)).encode()
                                                                           for a in tests[:3]), ["image"],
                                   ServiceSettings())
    assert [len(frame) for frame in images.decoded_frames(rows, 1_000)] == [2, 1]
    files = upload([(f"{i}.png", encode(a)) for i, a in enumerate(tests)])
    body = client.post("/predict?proba=true", files=files).json()
    assert body["predictions"] == model.predict(tests).tolist()
    assert len(body["probabilities"]) == len(body["warnings"]) == body["n_rows"] == len(tests)


def test_proba_in_json_query_and_form(client, model, tests):
    expected = model.predict_proba(tests[:2]).to_numpy()
    keys = [str(c) for c in range(CLASSES)]
    files = upload([(f"{i}.png", encode(a)) for i, a in enumerate(tests[:2])])
    for response in (client.post("/predict", json={"images": [b64(encode(a)) for a in tests[:2]], "proba": True}),
                     client.post("/predict?proba=true", files=files),
                     client.post("/predict", files=files, data={"proba": "true"})):
        body = response.json()
        got = np.array([[p[k] for k in keys] for p in body["probabilities"]])
        np.testing.assert_allclose(got, expected, atol=1e-9)
    assert_clean_error(client.post("/predict", files=files, data={"proba": "maybe"}), 422, "proba")


def test_other_columns_in_records_csv_and_form_fields(mixed, tests):
    client = TestClient(create_app(mixed))
    frame = pd.DataFrame({"ink": [0.5, -1.0, 2.0], "tone": ["a", "c", "b"]})
    expected = mixed.predict(frame.assign(image=pd.Series(list(tests[:3]), dtype=object))).tolist()
    records = [{"image": b64(encode(a)), **row} for a, row in zip(tests[:3], frame.to_dict("records"), strict=True)]
    body = client.post("/predict", json={"records": records}).json()
    assert body["predictions"] == expected and body["names"] == ["0", "1", "2"]

    csv = pd.DataFrame(records).to_csv(index=False)
    response = client.post("/predict", content=csv, headers={"content-type": "text/csv"})
    assert response.json()["predictions"] == expected, response.text

    files = upload([(f"{i}.png", encode(a)) for i, a in enumerate(tests[:3])])
    form = {"ink": [str(v) for v in frame["ink"]], "tone": list(frame["tone"])}
    assert client.post("/predict", files=files, data=form).json()["predictions"] == expected
    once = client.post("/predict", files=files, data={"ink": "0.5", "tone": "a"}).json()  # one value for all
    expected_once = mixed.predict(frame.assign(ink=0.5, tone="a", image=pd.Series(list(tests[:3]), dtype=object)))
    assert once["predictions"] == expected_once.tolist()

    assert_clean_error(client.post("/predict", files=files, data={"ink": ["1", "2"], "tone": "a"}), 422,
                       "'ink'", "2 times")
    assert_clean_error(client.post("/predict", json={"records": [{"image": records[0]["image"], "ink": 1.0}]}),
                       422, "'tone'")
    assert_clean_error(client.post("/predict", json={"records": [{"ink": 1.0, "tone": "a"}]}), 422,
                       "row 0 has no image")


# ----------------------------------------------------------------------------------------------- limits
def test_too_many_images_is_413(model, tests):
    client = TestClient(create_app(model, max_images=3))
    images = [b64(encode(a)) for a in tests[:4]]
    assert_clean_error(client.post("/predict", json={"images": images}), 413, "4 images", "limit is 3")
    assert_clean_error(client.post("/predict", json={"records": [{"image": s} for s in images]}), 413, "4 images")
    files = upload([(f"{i}.png", encode(tests[0])) for i in range(5)])
    assert_clean_error(client.post("/predict", files=files), 413, "more than 3 images")
    assert client.post("/predict", json={"images": images[:3]}).status_code == 200


def test_image_over_max_image_bytes_is_413_naming_it(model, tests):
    client = TestClient(create_app(model, max_image_bytes=200))
    small, large = encode(tests[0]), encode(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))
    assert len(small) < 200 < len(large)
    response = client.post("/predict", files=upload([("ok.png", small), ("big.png", large)]))
    assert_clean_error(response, 413, "'big.png'", "limit is 200 bytes")
    assert_clean_error(client.post("/predict", json={"images": [b64(small), b64(large)]}), 413, "image 1",
                       f"{len(large):,} bytes")
    assert_clean_error(client.post("/predict", json={"images": [{"name": "huge.png", "data": b64(large)}]}), 413,
                       "'huge.png'")


def test_body_over_the_image_body_limit_is_413(model):
    settings = ServiceSettings(max_images=1, max_image_bytes=1_000, max_body_bytes=1_000)
    client = TestClient(create_app(model, max_images=1, max_image_bytes=1_000, max_body_bytes=1_000))
    body = b'{"images": ["' + b"A" * settings.image_body_bytes + b'"]}'
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert_clean_error(response, 413, f"limit of {settings.image_body_bytes:,} bytes", "fewer images")

    def chunks():  # no Content-Length: the multipart parser reads it as it streams, and stops at the limit
        yield b"--xyz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(10):
            yield b"\x00" * 1_000

    response = client.post("/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert_clean_error(response, 413, "more than")


def test_too_many_pixels_are_refused_before_decoding(model, tests):
    client = TestClient(create_app(model))
    bomb = png_header(8_000, 8_000)  # 64 million pixels (decoded: 64 MB) declared in a file of under 100 bytes
    assert len(bomb) < 100
    assert_clean_error(client.post("/predict", files=upload([("bomb.png", bomb)])), 422, "'bomb.png'",
                       "8000x8000", "too large", "40,000,000")
    huge = png_header(60_000, 60_000)  # past Pillow's own guard too
    assert_clean_error(client.post("/predict", json={"images": [{"name": "huge.png", "data": b64(huge)}]}), 422,
                       "'huge.png'", "too large")
    strict = TestClient(create_app(model, max_image_pixels=100))
    wide = encode(np.zeros((20, 20), dtype=np.uint8))
    assert_clean_error(strict.post("/predict", json={"images": [b64(encode(tests[0])), b64(wide)]}), 422,
                       "image 1", "20x20", "limit 100")


# ----------------------------------------------------------------------------------------------- bad images
def test_corrupt_and_truncated_images_are_422_naming_them(client, tests):
    good = encode(tests[0])
    response = client.post("/predict", files=upload([("good.png", good), ("broken.png", b"not an image at all")]))
    assert_clean_error(response, 422, "'broken.png'", "not a readable image")
    response = client.post("/predict", json={"images": [b64(good), b64(good[: len(good) // 2])]})
    assert_clean_error(response, 422, "image 1", "not a readable image")
    response = client.post("/predict", content=multipart([("files", "", b"\x00" * 10)]),  # no file name: its position
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert_clean_error(response, 422, "image 0", "not a readable image")


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("!!!!not*base64", "not valid base64"),
        ("QUJD" * 30 + "é", "not valid base64"),
        ("data:image/png,rawbytes", "data URL must be base64"),
        ("", "no image"),
        (5, "must be a base64 string"),
        ({"name": "x.png"}, "\"data\""),
        ({"data": "QUJD", "extra": 1}, "'extra'"),
    ],
)
def test_bad_base64_is_422(client, image, fragment):
    body = {"records": [{"image": image}]} if image == "" else {"images": [image]}
    assert_clean_error(client.post("/predict", json=body), 422, fragment)


@pytest.mark.parametrize("path", ["/etc/passwd", "photos/cat.jpg", "C:\\images\\cat.png", "https://example.com/cat.png",
                                  "file:///etc/hosts", "~/cat.png", "../model/model.json"])
def test_paths_and_urls_are_refused(client, path):
    for body in ({"records": [{"image": path}]}, {"images": [path]}, {"images": [{"name": "x", "data": path}]}):
        error = assert_clean_error(client.post("/predict", json=body), 422, "not a path")
        assert "base64" in error


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"images": []}, "no images"),
        ({"images": "QUJD"}, "must be a list"),
        ({"pictures": []}, "unknown field"),
        ({"images": [], "records": []}, "not both"),
        ({"proba": True}, "either"),
        ({"images": [EXAMPLE_IMAGE], "proba": "yes"}, "true or false"),
    ],
)
def test_malformed_image_requests_are_422(client, body, fragment):
    assert_clean_error(client.post("/predict", json=body), 422, fragment)


def test_multipart_without_files_or_boundary_is_422(client):
    response = client.post("/predict", content=multipart([("note", None, b"hi")]),
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert_clean_error(response, 422, "no file")
    response = client.post("/predict", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert_clean_error(response, 422, "multipart")


def test_a_table_model_refuses_uploads_and_images():
    client = TestClient(create_app(fit_tiny("binary")))
    assert_clean_error(client.post("/predict", files=upload([("a.png", EXAMPLE_IMAGE.encode())])), 415,
                       "reads no images", "multipart/form-data")
    assert_clean_error(client.post("/predict", json={"images": [EXAMPLE_IMAGE]}), 422, "reads no images")


def test_an_image_model_refuses_other_media_types(client):
    response = client.post("/predict", content=b"\x89PNG", headers={"content-type": "image/png"})
    assert_clean_error(response, 415, "image/png", "multipart/form-data")


# ----------------------------------------------------------------------------------------------- around predict
def test_docs_describe_the_image_bodies_and_their_example_works(client):
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/predict"]["post"]["requestBody"]
    assert list(body["content"])[0] == "multipart/form-data"
    assert body["content"]["multipart/form-data"]["schema"]["properties"]["files"]["items"]["format"] == "binary"
    json_body = body["content"]["application/json"]
    assert "images" in json_body["schema"]["properties"]
    assert json_body["schema"]["properties"]["records"]["items"]["properties"]["image"]["format"] == "byte"
    assert "at most 64 per request" in body["description"] and "Paths and URLs are refused" in body["description"]
    assert "/" not in str(json_body["example"]["images"][0]["name"])  # no training path shown
    response = client.post("/predict", json=json_body["example"])
    assert response.status_code == 200, response.text
    assert response.json()["names"] == ["example.png"]


def test_metadata_lists_the_image_limits(model):
    limits = TestClient(create_app(model, max_images=5)).get("/metadata").json()["limits"]
    assert limits["max_images"] == 5 and limits["max_image_bytes"] == 10_000_000
    assert limits["max_image_pixels"] == 40_000_000
    assert limits["max_image_body_bytes"] == ServiceSettings(max_images=5).image_body_bytes


def test_monitor_and_prediction_log_after_image_requests(model, tests, tmp_path):
    from accelml.monitor import PredictionLog

    log = tmp_path / "log.sqlite"
    client = TestClient(create_app(model, prediction_log=log))
    client.post("/predict", files=upload([("a.png", encode(tests[0])), ("b.png", encode(tests[1]))]))
    client.post("/predict", json={"images": [b64(encode(tests[2]))], "proba": True})
    client.post("/predict", json={"images": [b64(b"broken")]})  # refused: nothing is remembered
    monitor = client.get("/monitor")
    assert monitor.status_code == 200, monitor.text
    report = monitor.json()
    assert report["window_rows"] == 3 and report["status"] in ("ok", "warning")
    assert any("image column 'image'" in note for note in report["notes"])
    assert client.get("/monitor?format=html").status_code == 200
    logged = PredictionLog(str(log))
    try:
        rows = logged.tail(5)
    finally:
        logged.close()
    assert [row["features"]["image"] for row in rows] == ["a.png", "b.png", "0"]


# ----------------------------------------------------------------------------------------------- settings
def test_settings_refuse_bad_image_limits():
    for name in ("max_image_bytes", "max_image_pixels", "max_images"):
        with pytest.raises(ConfigError, match=name):
            ServiceSettings(**{name: 0})


def test_cli_passes_the_image_limits(model_dir, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from accelml.cli.serve import serve

    seen = {}
    monkeypatch.setattr("accelml.serve.server.run_server", lambda model, **kwargs: seen.update(kwargs))
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(app, ["serve", str(model_dir), "--no-log", "--max-images", "3", "--max-image-mb",
                                      "0.5", "--max-image-pixels", "1000", "--max-text-chars", "500"])
    assert result.exit_code == 0, result.output
    assert (seen["max_images"], seen["max_image_bytes"], seen["max_image_pixels"]) == (3, 500_000, 1000)
    assert seen["max_text_chars"] == 500
