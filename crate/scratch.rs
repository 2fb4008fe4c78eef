//! Fallible scratch memory for kernels.
//!
//! In wasm an allocation that fails aborts, and an abort is a trap that leaves the instance
//! unusable (the shadow stack pointer and any `RefCell` borrowed at the time are never restored).
//! So a kernel that needs memory of its own reserves all of it through these functions BEFORE
//! it writes any output, and returns `Err(OutOfMemory)` instead: the outputs and gradients it
//! was given are untouched, what it did reserve is dropped, and the caller reports the error.

/// A kernel could not reserve `bytes` bytes of scratch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    pub bytes: usize,
}

impl OutOfMemory {
    fn floats(n: usize) -> OutOfMemory {
        OutOfMemory { bytes: n.saturating_mul(4) }
    }
}

/// `n` zeroed floats.
pub fn zeroed(n: usize) -> Result<Vec<f32>, OutOfMemory> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| OutOfMemory::floats(n))?;
    v.resize(n, 0.0);
    Ok(v)
}

/// A copy of `src[..n]`, or `n` zeros when `src` is None.
pub fn copied_or_zeroed(src: Option<&[f32]>, n: usize) -> Result<Vec<f32>, OutOfMemory> {
    let mut v = zeroed(n)?;
    if let Some(src) = src {
        v.copy_from_slice(&src[..n]);
    }
    Ok(v)
}

/// Makes `v` at least `n` floats long (new floats are 0).
pub fn grow(v: &mut Vec<f32>, n: usize) -> Result<(), OutOfMemory> {
    if v.len() < n {
        v.try_reserve_exact(n - v.len()).map_err(|_| OutOfMemory::floats(n))?;
        v.resize(n, 0.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_requests_fail_instead_of_aborting() {
        assert_eq!(zeroed(usize::MAX / 2).unwrap_err(), OutOfMemory { bytes: usize::MAX });
        let mut v = vec![1.0f32; 3];
        assert!(grow(&mut v, usize::MAX / 2).is_err());
        assert_eq!(v, vec![1.0; 3], "a failed grow leaves the vector as it was");
        grow(&mut v, 5).unwrap();
        assert_eq!(v, vec![1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(copied_or_zeroed(Some(&[2.0, 3.0, 4.0]), 2).unwrap(), vec![2.0, 3.0]);
    }
}
