"""Shapeset-3x2 generator (Glorot & Bengio 2010, Section 2.1) and the sample-grid figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from glorot.data import shapeset, shapeset_objects
from glorot.data.samples import render_grid
from glorot.data.shapeset import (
    CLASS_NAMES,
    SHAPES,
    ShapesetParams,
    ShapesetStream,
    generate,
    generate_detailed,
    label_from_counts,
    write_split,
)
from glorot.data.store import MANIFEST_FILE, DATA_FILE, load_split
from glorot.errors import GlorotError

N = 5000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def batch() -> shapeset.ShapesetBatch:
    return generate_detailed(N, seed=1234)


def _areas(masks: np.ndarray) -> np.ndarray:
    return masks.sum(axis=(-1, -2))


def test_class_names_and_labels_from_counts():
    assert SHAPES == ("triangle", "parallelogram", "ellipse")
    assert len(CLASS_NAMES) == 9
    assert CLASS_NAMES[3] == "triangle+triangle" and CLASS_NAMES[8] == "parallelogram+ellipse"
    for label, name in enumerate(CLASS_NAMES):
        counts = [name.split("+").count(shape) for shape in SHAPES]
        assert label_from_counts(np.array(counts)) == label
    grid = label_from_counts(np.array([[[1, 0, 0], [0, 1, 1]]]))
    assert grid.shape == (1, 2) and grid.dtype == np.int64 and grid.tolist() == [[0, 8]]


@pytest.mark.parametrize("counts", [[0, 0, 0], [1, 1, 1], [3, 0, 0], [2, 1, 0], [-1, 1, 1]])
def test_label_from_counts_rejects_counts_without_a_class(counts):
    with pytest.raises(GlorotError):
        label_from_counts(np.array(counts))


def test_all_classes_occur_with_the_expected_frequencies(batch):
    # 1 object (p = 1/2): each single class 1/6; 2 objects: same-shape pairs 1/18, mixed pairs 2/18.
    expected = np.array([1 / 6] * 3 + [1 / 18] * 3 + [1 / 9] * 3)
    freq = np.bincount(batch.y, minlength=9) / N
    tolerance = 4 * np.sqrt(expected * (1 - expected) / N)
    assert np.all(np.abs(freq - expected) < tolerance), (freq, expected)


def test_labels_are_the_shapes_drawn(batch):
    counts = np.stack([(batch.shapes == s).sum(axis=1) for s in range(3)], axis=-1)
    np.testing.assert_array_equal(label_from_counts(counts), batch.y)
    for label, shapes in zip(batch.y[:200], batch.shapes[:200]):
        drawn = sorted(SHAPES[s] for s in shapes if s >= 0)
        assert sorted(CLASS_NAMES[label].split("+")) == drawn
    present = batch.shapes >= 0
    assert np.all(present[:, 0]) and np.all(_areas(batch.masks)[~present] == 0)
    assert 0.45 < present[:, 1].mean() < 0.55


def test_every_object_is_big_enough_and_at_least_half_visible(batch):
    present = batch.shapes >= 0
    assert np.all(_areas(batch.masks)[present] >= ShapesetParams().min_area)
    first, second = batch.masks[:, 0], batch.masks[:, 1]
    visible_first = _areas(first & ~second)
    assert np.all(visible_first >= 0.5 * _areas(first))


def test_visible_pixels_carry_their_grey_levels(batch):
    images = batch.x.reshape(N, 32, 32)
    first, second = batch.masks[:, 0], batch.masks[:, 1]
    background = ~(first | second)
    pixel = lambda grey: 2 * grey - 1  # noqa: E731
    assert np.all(images == np.where(background, pixel(batch.background_grey)[:, None, None], images))
    assert np.all(images[first & ~second] == np.repeat(pixel(batch.object_grey[:, 0]), _areas(first & ~second)))
    assert np.all(images[second] == np.repeat(pixel(batch.object_grey[:, 1]), _areas(second)))


def test_grey_ranges_and_polarity(batch):
    p = ShapesetParams()
    assert batch.x.dtype == np.float32 and batch.x.shape == (N, 1024)
    assert batch.x.min() >= -1 and batch.x.max() <= 1
    swapped = batch.swapped
    assert 0.45 < swapped.mean() < 0.55
    bg, obj = batch.background_grey, batch.object_grey
    present = batch.shapes >= 0
    assert np.all((bg >= p.bg_min) & (bg <= p.bg_max) | swapped)
    assert np.all((bg >= p.fg_min) & (bg <= p.fg_max) | ~swapped)
    light = np.where(present, (obj >= p.fg_min) & (obj <= p.fg_max), True)
    dark = np.where(present, (obj >= p.bg_min) & (obj <= p.bg_max), True)
    assert np.all(light[~swapped]) and np.all(dark[swapped])
    assert np.all(np.isnan(obj[~present]))


def test_objects_stay_inside_the_image_off_the_border(batch):
    masks = batch.masks
    ring = masks[..., 0, :].any() or masks[..., -1, :].any() or masks[..., :, 0].any() or masks[..., :, -1].any()
    assert not ring


def test_overlap_rule_holds_on_the_rasterised_masks(batch):
    two = batch.shapes[:, 1] >= 0
    first, second = batch.masks[two, 0], batch.masks[two, 1]
    overlap = _areas(first & second)
    assert np.all(overlap <= 0.5 * np.minimum(_areas(first), _areas(second)))
    assert np.mean(overlap > 0) > 0.1  # the rule is exercised, objects do overlap


def test_generation_is_deterministic_per_seed():
    x1, y1 = generate(300, seed=5)
    x2, y2 = generate(300, seed=5)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, _ = generate(300, seed=6)
    assert np.mean(np.any(x1 != x3, axis=1)) > 0.99
    assert x1.dtype == np.float32 and y1.dtype == np.int64


def test_generate_equals_generate_detailed_across_blocks():
    n = shapeset._BLOCK + 37
    x, y = generate(n, seed=9)
    detailed = generate_detailed(n, seed=9)
    np.testing.assert_array_equal(x, detailed.x)
    np.testing.assert_array_equal(y, detailed.y)
    assert detailed.masks.shape == (n, 2, 32, 32) and detailed.shapes.shape == (n, 2)


def test_zero_images():
    x, y = generate(0, seed=1)
    assert x.shape == (0, 1024) and y.shape == (0,)
    assert generate_detailed(0, seed=1).masks.shape == (0, 2, 32, 32)


def test_rasteriser_agrees_with_cross_product_test():
    rng = np.random.default_rng(0)
    p = ShapesetParams()
    types = rng.integers(0, 3, 300)
    x, y = shapeset_objects.object_polygons(shapeset_objects.draw_objects(rng, 300, p), types, p)
    masks = shapeset_objects.rasterise_objects(x, y, types, p)
    centres = np.arange(32) + 0.5
    px, py = centres[None, None, :], centres[None, :, None]
    for i, shape in enumerate(types):
        n_vertices = (3, 4, p.ellipse_sides)[shape]
        vx, vy = x[:n_vertices, i], y[:n_vertices, i]
        ex, ey = np.roll(vx, -1) - vx, np.roll(vy, -1) - vy
        orientation = np.sign(np.sum(vx * np.roll(vy, -1) - np.roll(vx, -1) * vy))
        cross = (ex[:, None, None] * (py - vy[:, None, None]) - ey[:, None, None] * (px - vx[:, None, None]))
        distance = (orientation * cross / np.hypot(ex, ey)[:, None, None]).min(axis=0)
        clear = np.abs(distance) > 1e-6  # ignore pixel centres lying on an edge
        np.testing.assert_array_equal(masks[i][clear], (distance >= 0)[clear])
        shoelace = abs(np.sum(vx * np.roll(vy, -1) - np.roll(vx, -1) * vy)) / 2
        perimeter = np.hypot(ex, ey).sum()
        assert abs(masks[i].sum() - shoelace) <= perimeter / 2 + 2


def _shoelace(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(np.sum(x * np.roll(y, -1, axis=0) - np.roll(x, -1, axis=0) * y, axis=0)) / 2


def test_every_kept_draw_fits_as_any_shape_and_nothing_is_shrunk():
    p = ShapesetParams(scale_min=0.8, scale_max=0.8)  # 25.6-pixel axes: many draws cannot fit
    rng = np.random.default_rng(1)
    proposed = shapeset_objects._propose(rng, 4000, p)
    assert 0.2 < np.mean(~shapeset_objects._fits(proposed, p)) < 0.95  # the fit rule is exercised
    draws = shapeset_objects.draw_objects(rng, 2000, p)
    assert draws.shape == (2000, shapeset_objects.DRAW_COLUMNS)
    base, height = draws[:, shapeset_objects.BASE], draws[:, shapeset_objects.HEIGHT]
    np.testing.assert_allclose(base, 25.6)
    np.testing.assert_allclose(height, 25.6)
    ellipse = p.ellipse_sides / 2 * np.sin(2 * np.pi / p.ellipse_sides) * (base / 2) * (height / 2)
    for code, (n_vertices, area) in enumerate(zip((3, 4, p.ellipse_sides), (base * height / 2, base * height, ellipse))):
        x, y = shapeset_objects.object_polygons(draws, np.full(len(draws), code), p)
        x, y = x[:n_vertices], y[:n_vertices]
        assert x.min() >= 1 - 1e-9 and y.min() >= 1 - 1e-9 and x.max() <= 31 + 1e-9 and y.max() <= 31 + 1e-9
        np.testing.assert_allclose(_shoelace(x, y), area, rtol=1e-9)  # drawn at the drawn size


def test_fit_rule_rejects_the_draws_whose_parallelogram_does_not_fit():
    # At the default parameters (module docstring): 22.7% of draws are rejected, for every type.
    p = ShapesetParams()
    proposed = shapeset_objects._propose(np.random.default_rng(2), 20_000, p)
    fits = shapeset_objects._fits(proposed, p)
    by_shape = []
    for code, n_vertices in enumerate((3, 4, p.ellipse_sides)):
        x, y = shapeset_objects.object_polygons(proposed, np.full(len(proposed), code), p)
        by_shape.append((np.ptp(x[:n_vertices], axis=0) <= 30) & (np.ptp(y[:n_vertices], axis=0) <= 30))
    np.testing.assert_array_equal(fits, by_shape[0] & by_shape[1] & by_shape[2])
    np.testing.assert_array_equal(fits, by_shape[1])
    assert np.all(by_shape[2]) and 0.005 < np.mean(~by_shape[0]) < 0.015
    assert 0.21 < np.mean(~fits) < 0.245  # +-5 standard errors around 0.227


def _first_objects(batch: shapeset.ShapesetBatch) -> dict[str, np.ndarray]:
    """The drawn parameters of the first object of each image (the second one is also
    subject to the overlap rule, which depends on its shape: see the module docstring)."""
    return {"base": batch.axes[:, 0, 0], "height": batch.axes[:, 0, 1], "skew": batch.skew[:, 0],
            "rotation": batch.rotation[:, 0], "type": batch.shapes[:, 0]}


def test_batch_records_each_objects_drawn_parameters(batch):
    p, present = ShapesetParams(), batch.shapes >= 0
    assert batch.axes.dtype == np.float32 and batch.axes.shape == (N, 2, 2)
    base, height = batch.axes[..., 0], batch.axes[..., 1]
    assert np.all(np.isnan(base[~present]) & np.isnan(batch.skew[~present]) & (batch.rotation[~present] == -1))
    assert np.all((height[present] >= 0.2 * 32 - 1e-4) & (base[present] <= 0.8 * 32 + 1e-4))
    assert np.all(base[present] >= height[present]) and np.all(np.abs(batch.skew[present]) <= p.skew_max)
    assert np.all((batch.rotation[present] >= 0) & (batch.rotation[present] < p.rotation_steps))
    assert batch.rotation.dtype == np.int64
    area = _areas(batch.masks)[present]
    expected = {0: 0.5, 1: 1.0, 2: np.pi / 4}  # area / (base * height) of each shape
    for code, ratio in expected.items():
        mine = batch.shapes[present] == code
        relative = area[mine] / (ratio * base[present][mine] * height[present][mine])
        assert 0.9 < np.median(relative) < 1.1  # the masks are the recorded objects, unshrunk


@pytest.mark.parametrize("name", ["base", "height", "skew", "rotation"])
def test_drawn_parameters_have_the_same_distribution_for_every_shape(batch, name):
    # ~1,650 first objects per type. At this sample size the old shrink rule (or a fit rule
    # looking at the object's own shape) separates parallelograms from the others at
    # p ~ 1e-11; the threshold leaves a wide margin for seeds.
    first = _first_objects(batch)
    values = first[name].astype(np.float64)
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        result = stats.ks_2samp(values[first["type"] == a], values[first["type"] == b])
        assert result.pvalue > 1e-4, (name, SHAPES[a], SHAPES[b], result)


def test_drawn_parameters_are_uniform_where_every_draw_fits(batch):
    # Draws whose base is at most room / sqrt((1 + skew_max)^2 + 1) (the parallelogram's longest
    # diagonal) always fit, so there the fit rule keeps the uniform draws as they are: both axes
    # uniform in [0.2 * size, that base], skew uniform in [-skew_max, skew_max], rotation uniform.
    p = ShapesetParams()
    low, high = p.scale_min * p.size, (p.size - 2 * p.margin) / np.hypot(1 + p.skew_max, 1)
    first = _first_objects(batch)
    small = first["base"] <= high
    assert small.sum() > 1500
    span = high - low
    transformed = {  # each is uniform on [0, 1) under the stated distribution
        "base": ((first["base"][small] - low) / span) ** 2,  # the larger of two uniform axes
        "height": 1 - ((high - first["height"][small]) / span) ** 2,  # the smaller one
        "skew": (first["skew"][small] + p.skew_max) / (2 * p.skew_max),
        "rotation": (first["rotation"][small] + 0.5) / p.rotation_steps,
    }
    for name, values in transformed.items():
        result = stats.kstest(values.astype(np.float64), "uniform")
        assert result.pvalue > 1e-4, (name, result)


def test_impossible_placement_raises():
    with pytest.raises(GlorotError, match="cannot place"):
        generate(5, seed=0, params=ShapesetParams(min_area=900))


@pytest.mark.parametrize("kwargs", [
    {"scale_min": 0.9, "scale_max": 0.5},
    {"max_objects": 3},
    {"min_objects": 0},
    {"min_objects": 2, "max_objects": 1},
    {"size": -32},
    {"size": 32.0},
    {"swap_prob": 1.5},
    {"max_overlap": float("nan")},
    {"fg_min": 0.9, "fg_max": 0.6},
    {"ellipse_sides": 2},
    {"rotation_steps": 0},
    {"max_redraws": True},
    {"scale_min": 0.95, "scale_max": 0.95},
])
def test_bad_params_raise_a_one_line_error_naming_the_field(kwargs):
    with pytest.raises(GlorotError) as error:
        ShapesetParams(**kwargs)
    message = str(error.value)
    assert "\n" not in message and any(name in message for name in kwargs)


def test_params_round_trip_through_json():
    p = ShapesetParams(size=np.int64(32), scale_max=np.float32(0.75))
    d = json.loads(json.dumps(p.to_dict()))
    assert ShapesetParams(**d) == p and d["size"] == 32 and d["max_redraws"] == 50


@pytest.mark.parametrize("n, seed", [(-1, 0), (10, -1), (2.5, 0), (10, "a")])
def test_bad_generate_arguments_raise(n, seed):
    with pytest.raises(GlorotError):
        generate(n, seed)


def _take(stream, k):
    return [next(stream) for _ in range(k)]


def test_stream_batches_are_deterministic_and_fresh():
    stream = ShapesetStream(seed=3, batch_size=10, chunk=40)
    batches = _take(stream, 9)  # crosses two chunk boundaries
    again = _take(ShapesetStream(seed=3, batch_size=10, chunk=40), 9)
    for (x, y), (x2, y2) in zip(batches, again):
        assert x.shape == (10, 1024) and x.dtype == np.float32 and y.shape == (10,) and y.dtype == np.int64
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    chunk0, chunk1 = np.concatenate([b[0] for b in batches[:4]]), np.concatenate([b[0] for b in batches[4:8]])
    assert np.all(np.any(chunk0 != chunk1, axis=1))
    other = next(ShapesetStream(seed=4, batch_size=10, chunk=40))[0]
    assert not np.array_equal(other, batches[0][0])


def test_stream_resumes_where_it_stopped():
    stream = ShapesetStream(seed=3, batch_size=10, chunk=40)
    _take(stream, 6)
    state = json.loads(json.dumps(stream.state()))
    expected = _take(stream, 5)
    resumed = _take(ShapesetStream.from_state(state), 5)
    skipped = ShapesetStream(seed=3, batch_size=10, chunk=40)
    skipped.skip(6)
    for (x, y), (x2, y2), (x3, y3) in zip(expected, resumed, _take(skipped, 5)):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(x, x3)
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(y, y3)
    assert iter(stream) is stream


def test_lookahead_serves_the_same_batches_and_generates_the_next_chunk_early():
    plain = ShapesetStream(seed=5, batch_size=10, chunk=40, lookahead=False)
    ahead = ShapesetStream(seed=5, batch_size=10, chunk=40)
    got = _take(ahead, 2)
    assert ahead._next is None  # first half of chunk 0: nothing generated ahead yet
    got += _take(ahead, 1)
    assert ahead._next is not None and ahead._next[0] == 1  # chunk 1 under way
    got += _take(ahead, 6)
    ahead.skip(9)  # past the chunk generated ahead: that one is dropped
    got += _take(ahead, 3)
    expected = _take(plain, 9)
    plain.skip(9)
    expected += _take(plain, 3)
    for (x, y), (x2, y2) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_stream_rejects_bad_arguments():
    with pytest.raises(GlorotError):
        ShapesetStream(seed=0, batch_size=10, chunk=25)
    with pytest.raises(GlorotError):
        ShapesetStream(seed=0, batch_size=0)
    with pytest.raises(GlorotError):
        ShapesetStream.from_state({"seed": 0})


def test_write_split_round_trips_and_detects_corruption(tmp_path):
    p = ShapesetParams()
    out = write_split(tmp_path / "valid", 200, seed=11, params=p)
    x, y, manifest = load_split(out)
    gx, gy = generate(200, seed=11, params=p)
    np.testing.assert_array_equal(x, gx)
    np.testing.assert_array_equal(y, gy)
    assert manifest["dataset"] == "shapeset" and manifest["generator"] == "glorot.data.shapeset"
    assert manifest["params"] == p.to_dict() and manifest["seed"] == 11
    assert manifest["class_names"] == list(CLASS_NAMES)
    assert manifest["image_shape"] == [32, 32] and manifest["pixel_range"] == [-1, 1]
    assert sorted(f.name for f in out.iterdir()) == sorted([DATA_FILE, MANIFEST_FILE])
    data = out / DATA_FILE
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(GlorotError):
        load_split(out)


def test_render_grid_writes_png_for_grey_and_rgb(tmp_path):
    x, y = generate(12, seed=2)
    grey = render_grid(x, y, CLASS_NAMES, tmp_path / "grey.png", ncols=4, title="Shapeset-3x2")
    rng = np.random.default_rng(0)
    rgb = render_grid(rng.random((5, 32 * 32 * 3)).astype(np.float32), np.arange(5), [str(i) for i in range(10)],
                      tmp_path / "figs" / "rgb.png", image_shape=(32, 32, 3))
    for path in (grey, rgb):
        content = path.read_bytes()
        assert content.startswith(PNG_MAGIC) and len(content) > 1000
    assert sorted(f.name for f in tmp_path.iterdir()) == ["figs", "grey.png"]  # no temp file left


@pytest.mark.parametrize("x_shape, labels, image_shape", [
    ((4, 1000), [0, 1, 2, 3], (32, 32)),
    ((4, 1024), [0, 1, 2], (32, 32)),
    ((4, 1024), [0, 1, 2, 9], (32, 32)),
    ((0, 1024), [], (32, 32)),
    ((4, 2048), [0, 1, 2, 3], (32, 32, 2)),
])
def test_render_grid_rejects_mismatched_inputs(tmp_path, x_shape, labels, image_shape):
    with pytest.raises(GlorotError):
        render_grid(np.zeros(x_shape, np.float32), np.array(labels, dtype=np.int64), CLASS_NAMES,
                    tmp_path / "bad.png", image_shape=image_shape)
    assert not (tmp_path / "bad.png").exists()



@pytest.mark.parametrize("damage", ["truncated", "not a zip", "no x"])
def test_a_corrupt_split_whose_checksum_was_recomputed_is_a_one_line_error(tmp_path, damage, capsys):
    """The checksum matches (the manifest was rewritten with the damage): the read itself must
    still end in one line, in the library and in ``glorot train``, not in a zipfile traceback."""
    import json
    import io

    from glorot.cli import main
    from glorot.data.store import file_digest

    out = write_split(tmp_path / "shapeset" / "valid", 20, seed=11, params=ShapesetParams())
    data = out / DATA_FILE
    if damage == "truncated":
        data.write_bytes(data.read_bytes()[:-40])
    elif damage == "not a zip":
        data.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    else:
        buf = io.BytesIO()
        np.savez(buf, y=np.zeros(20, np.int64))
        data.write_bytes(buf.getvalue())
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    (out / MANIFEST_FILE).write_text(json.dumps({**manifest, "sha256": file_digest(data)}))
    with pytest.raises(GlorotError, match=f"^corrupt data file {data}: not a readable split "):
        load_split(out)
    write_split(tmp_path / "shapeset" / "test", 20, seed=12, params=ShapesetParams())
    write_split(tmp_path / "shapeset" / "train", 20, seed=13, params=ShapesetParams())
    assert main(["train", "--updates", "1", "--width", "4", "--depth", "1", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"glorot: error: corrupt data file {data}: not a readable split") and err.count("\n") == 1
