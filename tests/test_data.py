"""Readers, splits, transforms and loaders of mgcore_torch.data (synthetic files only)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from mgcore_torch.data import (
    EpochShuffleSampler,
    ImageTensorDataset,
    Normalize,
    RandomCropFlip,
    channel_stats,
    load_cifar10,
    load_cifar100,
    load_dataset,
    load_digits_dataset,
    load_fashion_mnist,
    make_loaders,
    random_crop_flip,
    read_cifar_binary,
    read_idx,
    write_idx,
)


# --------------------------------------------------------------------------- IDX


def _idx_bytes(arr: np.ndarray, code: int, dtype: str) -> bytes:
    """Build an IDX file by hand (independent of write_idx)."""
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "i" * arr.ndim, *arr.shape)
    return head + arr.astype(dtype).tobytes()


def test_read_idx_hand_made_uint8_plain_and_gzip(tmp_path):
    arr = (np.arange(2 * 3 * 5) * 7 % 256).astype(np.uint8).reshape(2, 3, 5)
    raw = _idx_bytes(arr, 0x08, ">u1")
    (tmp_path / "a-idx3-ubyte").write_bytes(raw)
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    # compression is detected from the content, not from the name
    (tmp_path / "gz-without-suffix").write_bytes(gzip.compress(raw))
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz", "gz-without-suffix"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 5)
        np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_idx_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(1)
    arr = (rng.standard_normal((4, 3, 2)) * 50).astype(dtype)
    p = tmp_path / f"x-idx{suffix}"
    write_idx(p, arr)
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, arr)
    if suffix == ".gz":
        assert p.read_bytes()[:2] == b"\x1f\x8b"


def test_read_idx_big_endian_int32_values(tmp_path):
    arr = np.array([1, -2, 70000, 2**31 - 1], dtype=np.int32)
    (tmp_path / "i").write_bytes(_idx_bytes(arr, 0x0C, ">i4"))
    np.testing.assert_array_equal(read_idx(tmp_path / "i"), arr)


def test_read_idx_bad_magic(tmp_path):
    arr = np.zeros((2, 2), np.uint8)
    raw = bytearray(_idx_bytes(arr, 0x08, ">u1"))
    raw[0] = 0x12
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad")


def test_read_idx_unknown_type_code(tmp_path):
    raw = bytearray(_idx_bytes(np.zeros(3, np.uint8), 0x08, ">u1"))
    raw[2] = 0x0A
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="type code 0x0A"):
        read_idx(tmp_path / "bad")


def test_read_idx_truncated_and_trailing(tmp_path):
    raw = _idx_bytes(np.ones((3, 4), np.uint8), 0x08, ">u1")
    (tmp_path / "short").write_bytes(raw[:-1])
    (tmp_path / "long").write_bytes(raw + b"\x00")
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    (tmp_path / "header").write_bytes(raw[:9])  # 2 dims need 12 header bytes
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="trailing"):
        read_idx(tmp_path / "long")
    with pytest.raises(ValueError, match="header"):
        read_idx(tmp_path / "tiny")
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(tmp_path / "header")


def test_read_idx_missing_and_corrupt_gzip(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 3)
    with pytest.raises(ValueError, match="gzip"):
        read_idx(tmp_path / "broken.gz")


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


def _write_mnist_dir(root, n_train=6, n_test=4, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    sfx = ".gz" if gz else ""
    data = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        x[0, 0, 0] = 255
        y = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / f"{split}-images-idx3-ubyte{sfx}", x)
        write_idx(root / f"{split}-labels-idx1-ubyte{sfx}", y)
        data[split] = (x, y)
    return data


@pytest.mark.parametrize("gz", [True, False])
def test_load_fashion_mnist_synthetic(tmp_path, gz):
    data = _write_mnist_dir(tmp_path, gz=gz)
    train, test = load_fashion_mnist(tmp_path)
    assert isinstance(train, torch.utils.data.TensorDataset)
    assert tuple(train.images.shape) == (6, 1, 28, 28) and tuple(test.images.shape) == (4, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    np.testing.assert_allclose(train.images[:, 0].numpy(), data["train"][0] / 255.0, rtol=0, atol=1e-7)
    assert float(train.images[0, 0, 0, 0]) == 1.0
    assert test.labels.tolist() == [0, 1, 2, 3]
    assert train.num_classes == 10 and train.classes[9] == "Ankle boot"


def test_load_fashion_mnist_missing_and_inconsistent(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "absent")
    _write_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))  # 4 images, 3 labels
    with pytest.raises(ValueError, match="4 images but"):
        load_fashion_mnist(tmp_path)


def test_load_fashion_mnist_label_out_of_range(tmp_path):
    _write_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 10], np.uint8))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        load_fashion_mnist(tmp_path)


# --------------------------------------------------------------------------- CIFAR


def _cifar_records(n, label_bytes, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    if label_bytes == 1:
        labels = (np.arange(n) % 10).astype(np.uint8)[:, None]
    else:
        labels = np.stack([np.arange(n) % 20, (np.arange(n) * 7) % 100], axis=1).astype(np.uint8)
    return np.concatenate([labels, pixels], axis=1).tobytes(), labels, pixels


def test_read_cifar10_binary(tmp_path):
    raw, labels, pixels = _cifar_records(5, 1)
    p = tmp_path / "data_batch_1.bin"
    p.write_bytes(raw)
    x, y = read_cifar_binary(p)
    assert x.dtype == torch.uint8 and tuple(x.shape) == (5, 3, 32, 32)
    assert y.tolist() == labels[:, 0].tolist()
    # channel planes: bytes 0..1023 red, 1024..2047 green, row-major 32x32
    np.testing.assert_array_equal(x[2, 0].numpy(), pixels[2, :1024].reshape(32, 32))
    np.testing.assert_array_equal(x[2, 2].numpy(), pixels[2, 2048:].reshape(32, 32))
    assert int(x[3, 1, 0, 5]) == int(pixels[3, 1024 + 5])


def test_read_cifar100_binary_coarse_and_fine(tmp_path):
    raw, labels, pixels = _cifar_records(4, 2)
    p = tmp_path / "train.bin"
    p.write_bytes(raw)
    _, coarse = read_cifar_binary(p)  # layout inferred from the size 4 * 3074
    x, fine = read_cifar_binary(p, fine_labels=True)
    assert coarse.tolist() == labels[:, 0].tolist() == [0, 1, 2, 3]
    assert fine.tolist() == labels[:, 1].tolist() == [0, 7, 14, 21]
    np.testing.assert_array_equal(x[1].reshape(-1).numpy(), pixels[1])


def test_read_cifar_binary_errors(tmp_path):
    raw, _, _ = _cifar_records(2, 1)
    (tmp_path / "short.bin").write_bytes(raw[:-10])
    with pytest.raises(ValueError, match="cannot tell|not a multiple"):
        read_cifar_binary(tmp_path / "short.bin")
    with pytest.raises(ValueError, match="not a multiple of the record size 3073"):
        read_cifar_binary(tmp_path / "short.bin", label_bytes=1)
    bad = bytearray(raw)
    bad[3073] = 10  # second record's label
    (tmp_path / "label.bin").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="record 1 has CIFAR-10 label 10"):
        read_cifar_binary(tmp_path / "label.bin")
    with pytest.raises(ValueError, match="label_bytes"):
        read_cifar_binary(tmp_path / "label.bin", label_bytes=3)
    with pytest.raises(ValueError, match="fine_labels=True"):
        read_cifar_binary(tmp_path / "label.bin", fine_labels=True, label_bytes=1)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_cifar_binary(tmp_path / "empty.bin")


def test_load_cifar10_and_cifar100_dirs(tmp_path):
    d10 = tmp_path / "cifar-10-batches-bin"
    d10.mkdir()
    for i in (1, 2):
        d10.joinpath(f"data_batch_{i}.bin").write_bytes(_cifar_records(3, 1, seed=i)[0])
    d10.joinpath("test_batch.bin").write_bytes(_cifar_records(2, 1, seed=9)[0])
    train, test = load_cifar10(tmp_path)
    assert len(train) == 6 and len(test) == 2 and train.in_channels == 3 and train.classes[0] == "airplane"
    assert 0.0 <= float(train.images.min()) and float(train.images.max()) <= 1.0

    d100 = tmp_path / "c100"
    d100.mkdir()
    d100.joinpath("train.bin").write_bytes(_cifar_records(3, 2)[0])
    d100.joinpath("test.bin").write_bytes(_cifar_records(2, 2)[0])
    tr, te = load_cifar100(d100)
    assert tr.num_classes == 100 and tr.labels.tolist() == [0, 7, 14]
    tr20, _ = load_cifar100(d100, fine_labels=False)
    assert tr20.num_classes == 20 and tr20.labels.tolist() == [0, 1, 2]
    with pytest.raises(FileNotFoundError):
        load_cifar10(tmp_path / "c100")


# --------------------------------------------------------------------------- digits


def test_digits_split_sizes_range_and_stratification():
    train, test = load_digits_dataset(seed=0)
    assert (len(train), len(test)) == (1437, 360)
    for d in (train, test):
        assert tuple(d.images.shape[1:]) == (1, 8, 8) and d.images.dtype == torch.float32
        assert float(d.images.min()) == 0.0 and float(d.images.max()) == 1.0
    counts_all = torch.bincount(torch.cat([train.labels, test.labels]), minlength=10).float()
    counts_test = torch.bincount(test.labels, minlength=10).float()
    assert torch.all((counts_test - 0.2 * counts_all).abs() <= 1.0)
    # disjoint and complete: the pixel sums of all 1797 images are those of sklearn's set
    from sklearn.datasets import load_digits

    ref = np.sort(load_digits().data.sum(axis=1) / 16.0)
    got = np.sort(torch.cat([train.images, test.images]).sum(dim=(1, 2, 3)).double().numpy())
    np.testing.assert_allclose(got, ref, atol=1e-4)


def test_digits_split_is_seeded():
    a, _ = load_digits_dataset(seed=3)
    b, _ = load_digits_dataset(seed=3)
    c, _ = load_digits_dataset(seed=4)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.labels, c.labels)


@pytest.mark.parametrize("size", [16, 32])
def test_digits_upsampling(size):
    train8, _ = load_digits_dataset(seed=0)
    train, test = load_digits_dataset(seed=0, size=size)
    assert tuple(train.images.shape) == (1437, 1, size, size) and tuple(test.images.shape[1:]) == (1, size, size)
    assert float(train.images.min()) >= 0.0 and float(train.images.max()) <= 1.0
    # bilinear upsampling keeps the mean intensity of each image (up to boundary effects)
    diff = (train.images.mean(dim=(1, 2, 3)) - train8.images.mean(dim=(1, 2, 3))).abs().max()
    assert float(diff) < 0.02
    assert torch.equal(train.labels, train8.labels)


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_dataset(test_fraction=1.5)
    with pytest.raises(ValueError, match="size"):
        load_digits_dataset(size=0)
    with pytest.raises(ValueError, match="dataset name must be one of"):
        load_dataset("imagenet")


# --------------------------------------------------------------------------- transforms and loaders


def test_normalize_and_channel_stats():
    x = torch.rand(50, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5
    mean, std = channel_stats(x)
    y = Normalize(mean, std)(x)
    assert y.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert (y.std(dim=(0, 2, 3), unbiased=False) - 1).abs().max() < 1e-5
    with pytest.raises(ValueError, match="std"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="channels"):
        Normalize([0.0, 0.0], [1.0, 1.0])(x)


def test_random_crop_flip_identity_flip_and_crop():
    x = torch.rand(20, 2, 6, 7)
    assert torch.equal(random_crop_flip(x, padding=0, flip=False), x)
    g = torch.Generator().manual_seed(0)
    f = random_crop_flip(x, padding=0, flip=True, generator=g)
    same = [(torch.equal(f[i], x[i]), torch.equal(f[i], x[i].flip(-1))) for i in range(20)]
    assert all(a or b for a, b in same)
    assert 0 < sum(b and not a for a, b in same) < 20  # some, not all, flipped
    assert torch.equal(x, x.clone())  # input untouched

    g = torch.Generator().manual_seed(1)
    c = random_crop_flip(x, padding=2, flip=False, generator=g)
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = []
    for i in range(20):
        hits = [(a, b) for a in range(5) for b in range(5) if torch.equal(c[i], xp[i, :, a:a + 6, b:b + 7])]
        assert hits, f"image {i} is not a window of the padded image"
        offsets.append(hits[0])
    assert len(set(offsets)) > 3
    # reproducible with a generator; single images work
    c2 = random_crop_flip(x, padding=2, flip=False, generator=torch.Generator().manual_seed(1))
    assert torch.equal(c, c2)
    assert tuple(RandomCropFlip(1)(x[0]).shape) == (2, 6, 7)
    with pytest.raises(ValueError, match="padding"):
        RandomCropFlip(-1)


def test_epoch_shuffle_sampler():
    s = EpochShuffleSampler(range(50), seed=7)
    s.set_epoch(0)
    p0 = list(s)
    s.set_epoch(1)
    p1 = list(s)
    s.set_epoch(0)
    assert list(s) == p0 and sorted(p0) == list(range(50)) and p0 != p1
    assert list(EpochShuffleSampler(range(5), shuffle=False)) == [0, 1, 2, 3, 4]


def test_make_loaders_batches_cover_data_once():
    pair = load_digits_dataset(seed=0)
    tl, vl = make_loaders(pair, batch_size=100, seed=0)
    xs, ys = zip(*list(tl))
    assert [x.shape[0] for x in xs] == [100] * 14 + [37]
    assert torch.equal(torch.sort(torch.cat(ys)).values, torch.sort(pair[0].labels).values)
    xv, yv = zip(*list(vl))
    assert torch.equal(torch.cat(yv), pair[1].labels)  # test order kept
    assert torch.equal(torch.cat(xv), pair[1].images)


def test_make_loaders_normalize_augment_and_errors():
    pair = load_digits_dataset(seed=0)
    tl, vl = make_loaders(pair, batch_size=2000, normalize=True, shuffle=False)
    x, _ = next(iter(tl))
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std(unbiased=False)) - 1) < 1e-4
    tl, _ = make_loaders(pair, batch_size=2000, augment=True, shuffle=False)
    xa, _ = next(iter(tl))
    assert tuple(xa.shape) == (1437, 1, 8, 8) and not torch.equal(xa, pair[0].images)
    assert tl.dataset.num_classes == 10
    with pytest.raises(ValueError, match="batch_size"):
        make_loaders(pair, batch_size=0)
    with pytest.raises(TypeError, match="dataset must be"):
        make_loaders(pair[0], batch_size=8)
    with pytest.raises(ValueError, match="normalize"):
        make_loaders(pair, batch_size=8, normalize="yes")


def test_image_tensor_dataset_validation():
    with pytest.raises(ValueError, match="images"):
        ImageTensorDataset(torch.zeros(3, 8, 8), torch.zeros(3, dtype=torch.long), ["a"])
    with pytest.raises(ValueError, match="labels"):
        ImageTensorDataset(torch.zeros(3, 1, 8, 8), torch.zeros(2, dtype=torch.long), ["a"])
    d = ImageTensorDataset(torch.zeros(3, 1, 8, 8), torch.tensor([0, 1, 1]), ["a", "b"])
    x, y = d[[0, 2]]
    assert tuple(x.shape) == (2, 1, 8, 8) and y.tolist() == [0, 1]


# --------------------------------------------------------------------------- augmentation, sharding


def test_random_crop_reflect_padding_windows():
    from mgcore_torch.transforms import random_crop

    x = torch.rand(12, 2, 6, 7)
    g = torch.Generator().manual_seed(2)
    c = random_crop(x, 2, "reflect", generator=g)
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(12):
        assert any(torch.equal(c[i], xp[i, :, a:a + 6, b:b + 7]) for a in range(5) for b in range(5))
    # reflection copies image values: no zeros appear where the image has none
    assert float(c.min()) > 0.0 or float(x.min()) == 0.0
    with pytest.raises(ValueError, match="pad_mode"):
        random_crop(x, 1, "wrap")
    with pytest.raises(ValueError, match="reflect padding needs"):
        random_crop(x, 6, "reflect")
    assert random_crop(x, 0) is x


def test_random_flip_and_erasing():
    from mgcore_torch.transforms import RandomErasing, random_erasing, random_flip

    x = torch.rand(64, 3, 8, 10) + 1.0  # no zeros
    f = random_flip(x, 1.0)
    assert torch.equal(f, x.flip(-1)) and torch.equal(random_flip(x, 0.0), x)
    g = torch.Generator().manual_seed(0)
    e = random_erasing(x, p=1.0, generator=g)
    zero = e == 0
    assert torch.equal(zero.all(dim=1), zero.any(dim=1))  # the same rectangle in every channel
    area = zero[:, 0].flatten(1).sum(1).float() / 80
    assert bool((area > 0).all()) and float(area.max()) <= 0.34 + 1 / 80
    for i in range(64):  # each erased region is one axis-aligned rectangle
        rows, cols = zero[i, 0].any(1).nonzero().flatten(), zero[i, 0].any(0).nonzero().flatten()
        assert int(zero[i, 0].sum()) == len(rows) * len(cols)
    assert torch.equal(random_erasing(x, p=0.0), x)
    with pytest.raises(ValueError, match="scale"):
        RandomErasing(0.5, scale=(0.5, 0.1))


def test_make_loaders_with_erasing_after_normalisation():
    pair = load_digits_dataset(seed=0)
    tl, _ = make_loaders(pair, batch_size=2000, normalize=True, erasing=1.0, shuffle=False)
    x, _ = next(iter(tl))
    # erased pixels are 0 after normalisation (the data mean), a value plain normalised digits rarely take
    assert float((x == 0).float().mean()) > 0.02
    with pytest.raises(ValueError, match="erasing"):
        make_loaders(pair, batch_size=8, erasing=2.0)


def test_sharded_loaders_cover_the_data():
    from mgcore_torch.data import ShardSampler, set_epoch

    pair = load_digits_dataset(seed=0)
    seen_train, seen_test = [], []
    for rank in (0, 1):
        tl, vl = make_loaders(pair, batch_size=100, seed=4, num_replicas=2, rank=rank)
        set_epoch(tl, 3)
        seen_train.append(torch.cat([y for _, y in tl]))
        seen_test.append(torch.cat([y for _, y in vl]))
    assert [len(s) for s in seen_train] == [719, 719]  # 1437 padded to 1438 by DistributedSampler
    assert sorted(torch.cat(seen_test).tolist()) == sorted(pair[1].labels.tolist())  # every test image once
    assert len(seen_test[0]) + len(seen_test[1]) == 360
    assert list(ShardSampler(range(7), rank=2, world_size=3)) == [2, 5]
    with pytest.raises(ValueError, match="rank"):
        ShardSampler(range(3), rank=3, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        make_loaders(pair, batch_size=8, num_replicas=2, rank=5)


def test_dataset_info_and_default_fashion_root():
    from mgcore_torch.data import FASHION_MNIST_ROOT, dataset_info

    assert FASHION_MNIST_ROOT == "/usr/share/datasets/fashion-mnist"  # the Debian package dataset-fashion-mnist
    assert dataset_info("fashion-mnist") == {"channels": 1, "classes": 10, "size": 28, "padding": 2, "flip": True}
    assert dataset_info("digits")["flip"] is False
    with pytest.raises(ValueError, match="dataset name must be one of"):
        dataset_info("svhn")
