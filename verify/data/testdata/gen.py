"""Generates the NumPy- and PIL-made fixtures of verify/data's tests.

Run from this folder with a Python that has numpy and PIL (Debian:
python3-numpy, python3-pil):  python3 gen.py
The tests only read the files; they do not need Python.
"""
import numpy as np
from PIL import Image

# .npy files written by NumPy itself; the tests know the values.
a = np.arange(24).reshape(2, 3, 4)
np.save("np_f4.npy", (a / 4).astype("<f4"))  # value i/4 at flat index i
np.save("np_fortran_i4.npy", np.asfortranarray(a.astype("<i4")))
np.save("np_be_f8.npy", (a - 12).astype(">f8"))
np.save("np_b1.npy", (a % 3 == 0))
np.save("np_f2.npy", (a / 8).astype("<f2"))
np.save("np_u8_scalar.npy", np.array(2**64 - 1, dtype="<u8"))
np.save("np_i1_empty.npy", np.zeros((0, 5), dtype="|i1"))
for v in [(2, 0), (3, 0)]:
    with open("np_v%d_i2.npy" % v[0], "wb") as f:
        np.lib.format.write_array(f, (a - 12).astype("<i2").reshape(6, 4), version=v)


def reference(img, resize, size, mean, std):
    """torchvision Resize(resize) + CenterCrop(size) + ToTensor + Normalize,
    computed per channel with PIL's float ("F") resampling, so that no 8-bit
    rounding happens between the two passes."""
    w, h = img.size
    if w <= h:
        ow, oh = resize, int(resize * h / w)
    else:
        oh, ow = resize, int(resize * w / h)
    top = int(round((oh - size) / 2.0))
    left = int(round((ow - size) / 2.0))
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32)
    out = []
    for c in range(3):
        ch = Image.fromarray(rgb[:, :, c], mode="F").resize((ow, oh), Image.BILINEAR)
        ch = np.asarray(ch, dtype=np.float32)[top:top + size, left:left + size] / 255.0
        out.append((ch - mean[c]) / std[c])
    return np.stack(out).astype("<f4")


rng = np.random.default_rng(7)
imnet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
# Downscale 37x23 -> 25x16, crop 12; upscale 5x7 -> 12x16, crop 10.
for name, (w, h), resize, size in [("down", (37, 23), 16, 12), ("up", (5, 7), 12, 10)]:
    img = Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), mode="RGB")
    img.save("img_%s.png" % name)
    np.save("img_%s_ref.npy" % name, reference(img, resize, size, *imnet))
