//! EXIF orientation applied to packed RGB8 buffers.

/// Applies EXIF orientation `o` (1–8; anything else is treated as 1) to a packed RGB8 image.
/// Returns the new buffer and its dimensions.
pub(crate) fn apply(src: Vec<u8>, w: usize, h: usize, o: u16) -> (Vec<u8>, usize, usize) {
    match o {
        2 => (remap(&src, w, h, w, h, |x, y| (w - 1 - x, y)), w, h),
        3 => {
            let mut v = src;
            reverse_pixels(&mut v);
            (v, w, h)
        }
        4 => (remap(&src, w, h, w, h, |x, y| (x, h - 1 - y)), w, h),
        5 => (remap(&src, w, h, h, w, |x, y| (y, x)), h, w),
        6 => (remap(&src, w, h, h, w, |x, y| (y, h - 1 - x)), h, w),
        7 => (remap(&src, w, h, h, w, |x, y| (w - 1 - y, h - 1 - x)), h, w),
        8 => (remap(&src, w, h, h, w, |x, y| (w - 1 - y, x)), h, w),
        _ => (src, w, h),
    }
}

/// Rotation by 180° is a reversal of the pixel sequence.
fn reverse_pixels(v: &mut [u8]) {
    let n = v.len() / 3;
    for i in 0..n / 2 {
        let j = n - 1 - i;
        for c in 0..3 {
            v.swap(i * 3 + c, j * 3 + c);
        }
    }
}

/// Builds an `ow`×`oh` image where output pixel (x, y) is source pixel `f(x, y)`.
/// Walks the output in 32×32 tiles so that both sides stay cache-friendly.
fn remap<F: Fn(usize, usize) -> (usize, usize)>(
    src: &[u8],
    w: usize,
    _h: usize,
    ow: usize,
    oh: usize,
    f: F,
) -> Vec<u8> {
    const T: usize = 32;
    let mut out = vec![0u8; ow * oh * 3];
    for ty in (0..oh).step_by(T) {
        for tx in (0..ow).step_by(T) {
            for y in ty..(ty + T).min(oh) {
                let row = y * ow * 3;
                for x in tx..(tx + T).min(ow) {
                    let (sx, sy) = f(x, y);
                    let s = (sy * w + sx) * 3;
                    let d = row + x * 3;
                    out[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::apply;

    /// 3×2 image with distinct pixel values 0..6 (one channel used, replicated).
    fn img() -> Vec<u8> {
        (0u8..6).flat_map(|v| [v, v, v]).collect()
    }

    fn px(v: &[u8]) -> Vec<u8> {
        v.chunks(3).map(|c| c[0]).collect()
    }

    #[test]
    fn every_exif_orientation_maps_pixels_as_the_spec_says() {
        // stored:  0 1 2
        //          3 4 5
        let cases: [(u16, usize, usize, [u8; 6]); 8] = [
            (1, 3, 2, [0, 1, 2, 3, 4, 5]),
            (2, 3, 2, [2, 1, 0, 5, 4, 3]),
            (3, 3, 2, [5, 4, 3, 2, 1, 0]),
            (4, 3, 2, [3, 4, 5, 0, 1, 2]),
            (5, 2, 3, [0, 3, 1, 4, 2, 5]),
            (6, 2, 3, [3, 0, 4, 1, 5, 2]),
            (7, 2, 3, [5, 2, 4, 1, 3, 0]),
            (8, 2, 3, [2, 5, 1, 4, 0, 3]),
        ];
        for (o, ew, eh, expect) in cases {
            let (out, w, h) = apply(img(), 3, 2, o);
            assert_eq!((w, h), (ew, eh), "orientation {o}");
            assert_eq!(px(&out), expect.to_vec(), "orientation {o}");
        }
    }
}
