//! Minimal safe wrapper over libjpeg-turbo's TurboJPEG 3 decompressor, used instead of the
//! `turbojpeg` crate's `Decompressor` because we need `tj3GetErrorCode` to tell *warnings*
//! (image fully decoded, e.g. a bad restart segment) from *fatal* errors.

use std::ffi::{c_int, CStr};

use turbojpeg::raw;

/// Header facts.
pub(crate) struct Header {
    pub width: usize,
    pub height: usize,
    pub colorspace: c_int,
    pub lossless: bool,
}

/// Failure of a TurboJPEG call.
pub(crate) struct TjError {
    pub fatal: bool,
    pub message: String,
}

pub(crate) struct Decoder {
    handle: raw::tjhandle,
}

impl Decoder {
    pub fn new() -> Option<Decoder> {
        // SAFETY: tj3Init has no preconditions; a null handle is checked below.
        let handle = unsafe { raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as c_int) };
        (!handle.is_null()).then_some(Decoder { handle })
    }

    fn error(&self) -> TjError {
        // SAFETY: handle is valid for the lifetime of self; the returned string is owned by
        // the handle and copied out immediately.
        let (code, msg) = unsafe {
            let code = raw::tj3GetErrorCode(self.handle);
            let ptr = raw::tj3GetErrorStr(self.handle);
            let msg = if ptr.is_null() {
                String::new()
            } else {
                CStr::from_ptr(ptr).to_string_lossy().into_owned()
            };
            (code, msg)
        };
        TjError {
            fatal: code != raw::TJERR_TJERR_WARNING as c_int,
            message: msg,
        }
    }

    fn set(&mut self, param: raw::TJPARAM, value: c_int) -> Result<(), TjError> {
        // SAFETY: valid handle; TurboJPEG validates parameter and value.
        let rc = unsafe { raw::tj3Set(self.handle, param as c_int, value) };
        if rc != 0 {
            return Err(self.error());
        }
        Ok(())
    }

    pub fn header(&mut self, jpeg: &[u8]) -> Result<Header, TjError> {
        let len = jpeg_len(jpeg)?;
        // SAFETY: pointer/length describe a live slice; TurboJPEG only reads within it.
        let rc = unsafe { raw::tj3DecompressHeader(self.handle, jpeg.as_ptr(), len) };
        if rc != 0 {
            return Err(self.error());
        }
        // SAFETY: valid handle.
        let get = |p: raw::TJPARAM| unsafe { raw::tj3Get(self.handle, p as c_int) };
        let (w, h) = (
            get(raw::TJPARAM_TJPARAM_JPEGWIDTH),
            get(raw::TJPARAM_TJPARAM_JPEGHEIGHT),
        );
        Ok(Header {
            width: usize::try_from(w).unwrap_or(0),
            height: usize::try_from(h).unwrap_or(0),
            colorspace: get(raw::TJPARAM_TJPARAM_COLORSPACE),
            lossless: get(raw::TJPARAM_TJPARAM_LOSSLESS) == 1,
        })
    }

    /// Decodes to packed RGB8 scaled by `num/8` (num ∈ 1..=8); `out` must hold
    /// exactly `scaled_w * scaled_h * 3` bytes. `Ok(Some(warning))` = decoded with a warning.
    /// `max_memory_mib` caps libjpeg's whole-image buffers (the DCT coefficients of a
    /// progressive or multi-scan JPEG); exceeding it is a fatal "Backing store" error.
    pub fn decode_rgb(
        &mut self,
        jpeg: &[u8],
        num: usize,
        scaled_w: usize,
        out: &mut [u8],
        max_memory_mib: c_int,
    ) -> Result<Option<String>, TjError> {
        // Progressive-JPEG CPU guard (libjpeg-turbo's recommendation) and a backstop cap on
        // libjpeg's own whole-image buffers (the caller already sized them from the header).
        self.set(raw::TJPARAM_TJPARAM_SCANLIMIT, 500)?;
        self.set(raw::TJPARAM_TJPARAM_MAXMEMORY, max_memory_mib.max(1))?;
        // TurboJPEG only accepts the reduced fractions (1/1, 1/2, 3/4, …), not n/8 literally.
        let num = num.clamp(1, 8);
        let g = [8usize, 4, 2, 1]
            .into_iter()
            .find(|g| num.is_multiple_of(*g))
            .unwrap_or(1);
        let sf = raw::tjscalingfactor {
            num: (num / g) as c_int,
            denom: (8 / g) as c_int,
        };
        // SAFETY: valid handle.
        if unsafe { raw::tj3SetScalingFactor(self.handle, sf) } != 0 {
            return Err(self.error());
        }
        let len = jpeg_len(jpeg)?;
        let pitch = c_int::try_from(scaled_w * 3).map_err(|_| TjError {
            fatal: true,
            message: "row too wide".into(),
        })?;
        // SAFETY: input slice as above; `out` is a live, exclusively borrowed buffer of
        // scaled_w*3*scaled_h bytes (checked by the caller against the header) and TurboJPEG
        // writes scaled_h rows of `pitch` bytes.
        let rc = unsafe {
            raw::tj3Decompress8(
                self.handle,
                jpeg.as_ptr(),
                len,
                out.as_mut_ptr(),
                pitch,
                raw::TJPF_TJPF_RGB as c_int,
            )
        };
        if rc == 0 {
            return Ok(None);
        }
        let e = self.error();
        if e.fatal {
            Err(e)
        } else {
            Ok(Some(e.message))
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: handle came from tj3Init and is destroyed exactly once.
        unsafe { raw::tj3Destroy(self.handle) }
    }
}

fn jpeg_len(jpeg: &[u8]) -> Result<raw::size_t, TjError> {
    raw::size_t::try_from(jpeg.len()).map_err(|_| TjError {
        fatal: true,
        message: "input too large".into(),
    })
}

/// TJSCALED for `num/8`: `ceil(dim * num / 8)`.
pub(crate) fn scaled(dim: usize, num: usize) -> usize {
    (dim * num).div_ceil(8)
}

pub(crate) fn is_cmyk(colorspace: c_int) -> bool {
    colorspace == raw::TJCS_TJCS_CMYK as c_int || colorspace == raw::TJCS_TJCS_YCCK as c_int
}
