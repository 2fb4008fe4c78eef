//! A four-lane f32 vector, the one SIMD type every kernel is written against.
//!
//! On wasm32 with `+simd128` it is a `v128`; everywhere else it is `[f32; 4]` with the same
//! lane semantics, so the kernels' native unit tests run the very code the wasm build runs.
//! Baseline WASM SIMD has no fused multiply-add: `mul_add` is a mul then an add (two roundings),
//! and the array fallback does the same so both builds give bit-identical results.
//!
//! The relaxed-SIMD build (cargo feature `relaxed` with `-C target-feature=+relaxed-simd`, see
//! scripts/build-wasm.sh) changes `madd_relaxed` and the int8 dot product: there `madd_relaxed` is
//! `f32x4.relaxed_madd`, which the engine may run fused (one rounding: x64 with FMA, arm64) or as
//! a mul and an add. The native fallback with the feature `relaxed` fuses it (`f32::mul_add`), so
//! the kernels' unit tests check the fused case too.
//!
//! The target feature is module-wide in LLVM (it cannot be confined to the functions that ask for
//! it), and LLVM then also compiles a few compare-and-select `max`/`min` patterns (the maximum and
//! minimum ops, the max reductions of softmax and quantization) as `f32x4.relaxed_max`/`min` with
//! an explicit NaN check: the same results, except which zero comes out of a `+0`/`-0` pair.

#[cfg(all(target_arch = "wasm32", feature = "relaxed", not(target_feature = "relaxed-simd")))]
compile_error!("the feature `relaxed` on wasm32 needs RUSTFLAGS=\"-C target-feature=+simd128,+relaxed-simd\" (scripts/build-wasm.sh sets it)");

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            F32x4(f32x4_splat(x))
        }
        #[inline(always)]
        pub fn zero() -> Self {
            F32x4(f32x4_splat(0.0))
        }
        /// # Safety
        /// `p` must point at four readable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            F32x4(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p` must point at four writable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            F32x4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            F32x4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            F32x4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            F32x4(f32x4_div(self.0, o.0))
        }
        /// `self * a + b`, rounded twice (no FMA in baseline WASM SIMD).
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            F32x4(f32x4_add(f32x4_mul(self.0, a.0), b.0))
        }
        /// `self * a + b` for products' accumulators: `f32x4.relaxed_madd` in the relaxed-SIMD
        /// build (fused or not, as the engine's CPU does it), `mul_add` in the SIMD128 build.
        #[cfg(feature = "relaxed")]
        #[inline(always)]
        pub fn madd_relaxed(self, a: Self, b: Self) -> Self {
            F32x4(f32x4_relaxed_madd(self.0, a.0, b.0))
        }
        #[cfg(not(feature = "relaxed"))]
        #[inline(always)]
        pub fn madd_relaxed(self, a: Self, b: Self) -> Self {
            self.mul_add(a, b)
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F32x4(f32x4_sqrt(self.0))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            F32x4(f32x4_abs(self.0))
        }
        /// Lane-wise max, `if self < o { o } else { self }`: NaN in `self` is kept.
        #[inline(always)]
        ///
        /// Written as compare + bitselect rather than `f32x4_pmax`: LLVM turns that into the
        /// IEEE `f32x4.max`, which V8 lowers to eight x64 instructions instead of one `maxps`.
        pub fn max(self, o: Self) -> Self {
            F32x4(v128_bitselect(o.0, self.0, f32x4_lt(self.0, o.0)))
        }
        /// Lane-wise min, `if o < self { o } else { self }`: NaN in `self` is kept.
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            F32x4(v128_bitselect(o.0, self.0, f32x4_lt(o.0, self.0)))
        }
        /// Round to nearest, ties to even.
        #[inline(always)]
        pub fn round(self) -> Self {
            F32x4(f32x4_nearest(self.0))
        }
        /// Lanes where `self > o`, as an all-ones/all-zeros mask.
        #[inline(always)]
        pub fn gt(self, o: Self) -> Mask {
            Mask(f32x4_gt(self.0, o.0))
        }
        #[inline(always)]
        pub fn lt(self, o: Self) -> Mask {
            Mask(f32x4_lt(self.0, o.0))
        }
        /// Lanes where `self == o` (false for NaN, so `x.eq(x)` is "x is not NaN").
        #[inline(always)]
        pub fn eq(self, o: Self) -> Mask {
            Mask(f32x4_eq(self.0, o.0))
        }
        /// Copy the sign bit of `sign` onto `self`.
        #[inline(always)]
        pub fn with_sign_of(self, sign: Self) -> Self {
            let sign_bit = u32x4_splat(0x8000_0000);
            F32x4(v128_bitselect(sign.0, self.0, sign_bit))
        }
        /// 2^n for lanes holding integral values in [-126, 127].
        #[inline(always)]
        ///
        /// Adding 1.5 * 2^23 puts n, as an integer, in the low mantissa bits (bits = 0x4B40_0000 + n),
        /// so no float-to-int conversion is needed (V8 lowers `i32x4.trunc_sat_f32x4_s` to six
        /// instructions; this is one add, one integer add and one shift).
        pub fn exp2_int(self) -> Self {
            let shifted = f32x4_add(self.0, f32x4_splat(12_582_912.0));
            F32x4(i32x4_shl(i32x4_add(shifted, i32x4_splat(127 - 0x4B40_0000)), 23))
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            f32x4_extract_lane::<0>(self.0)
                + f32x4_extract_lane::<1>(self.0)
                + f32x4_extract_lane::<2>(self.0)
                + f32x4_extract_lane::<3>(self.0)
        }
        #[inline(always)]
        pub fn max_lane(self) -> f32 {
            let a = f32x4_extract_lane::<0>(self.0).max(f32x4_extract_lane::<1>(self.0));
            let b = f32x4_extract_lane::<2>(self.0).max(f32x4_extract_lane::<3>(self.0));
            a.max(b)
        }
        /// The 4x4 transpose of rows `r`: lane j of result i is lane i of `r[j]`.
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r[0].0, r[1].0);
            let t1 = i32x4_shuffle::<0, 4, 1, 5>(r[2].0, r[3].0);
            let t2 = i32x4_shuffle::<2, 6, 3, 7>(r[0].0, r[1].0);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r[2].0, r[3].0);
            [
                F32x4(i32x4_shuffle::<0, 1, 4, 5>(t0, t1)),
                F32x4(i32x4_shuffle::<2, 3, 6, 7>(t0, t1)),
                F32x4(i32x4_shuffle::<0, 1, 4, 5>(t2, t3)),
                F32x4(i32x4_shuffle::<2, 3, 6, 7>(t2, t3)),
            ]
        }
    }


    /// Four i32 lanes: the accumulators of the int8 dot products.
    #[derive(Clone, Copy)]
    pub struct I32x4(v128);

    impl I32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            I32x4(i32x4_splat(0))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            I32x4(i32x4_add(self.0, o.0))
        }
        /// The lanes as f32 (exact below 2^24, rounded to nearest above).
        #[inline(always)]
        pub fn to_f32(self) -> F32x4 {
            F32x4(f32x4_convert_i32x4(self.0))
        }
        /// Lane j: w[2j]*x[2j] + w[2j+1]*x[2j+1] + w[8+2j]*x[8+2j] + w[9+2j]*x[9+2j] for 16 int8
        /// weights widened to i16 and 16 i16 activations (`i32x4.dot_i16x8_s`, twice: SIMD128 has
        /// no 8-bit multiply).
        /// # Safety
        /// `w` must point at 16 readable i8, `x` at 16 readable i16.
        ///
        /// The weights are read eight at a time already widened (`v128.load8x8_s`, one instruction
        /// with its load): widening the high half of a 16-byte load takes a shuffle more.
        #[inline(always)]
        pub unsafe fn dot_i8x16(w: *const i8, x: *const i16) -> Self {
            let lo = i32x4_dot_i16x8(i16x8_load_extend_i8x8(w), v128_load(x as *const v128));
            let hi = i32x4_dot_i16x8(i16x8_load_extend_i8x8(w.add(8)), v128_load(x.add(8) as *const v128));
            I32x4(i32x4_add(lo, hi))
        }
    }

    #[derive(Clone, Copy)]
    pub struct Mask(v128);

    impl Mask {
        /// Lanes of `a` where the mask is set, lanes of `b` elsewhere.
        #[inline(always)]
        pub fn select(self, a: F32x4, b: F32x4) -> F32x4 {
            F32x4(v128_bitselect(a.0, b.0, self.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    #[inline(always)]
    fn map(a: [f32; 4], f: impl Fn(f32) -> f32) -> [f32; 4] {
        [f(a[0]), f(a[1]), f(a[2]), f(a[3])]
    }
    #[inline(always)]
    fn zip(a: [f32; 4], b: [f32; 4], f: impl Fn(f32, f32) -> f32) -> [f32; 4] {
        [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
    }

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            F32x4([x; 4])
        }
        #[inline(always)]
        pub fn zero() -> Self {
            F32x4([0.0; 4])
        }
        /// # Safety
        /// `p` must point at four readable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            F32x4((p as *const [f32; 4]).read_unaligned())
        }
        /// # Safety
        /// `p` must point at four writable f32 (no alignment needed).
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            (p as *mut [f32; 4]).write_unaligned(self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| a + b))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| a - b))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| a * b))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| a / b))
        }
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            self.mul(a).add(b)
        }
        /// Fused (one rounding) with the feature `relaxed`, as `f32x4.relaxed_madd` runs on an
        /// FMA CPU; `mul_add` without it.
        #[inline(always)]
        pub fn madd_relaxed(self, a: Self, b: Self) -> Self {
            #[cfg(feature = "relaxed")]
            {
                F32x4([
                    self.0[0].mul_add(a.0[0], b.0[0]), self.0[1].mul_add(a.0[1], b.0[1]),
                    self.0[2].mul_add(a.0[2], b.0[2]), self.0[3].mul_add(a.0[3], b.0[3]),
                ])
            }
            #[cfg(not(feature = "relaxed"))]
            {
                self.mul_add(a, b)
            }
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            F32x4(map(self.0, f32::sqrt))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            F32x4(map(self.0, f32::abs))
        }
        /// Lane-wise max, `if self < o { o } else { self }` (wasm `pmax`).
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| if a < b { b } else { a }))
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            F32x4(zip(self.0, o.0, |a, b| if b < a { b } else { a }))
        }
        #[inline(always)]
        pub fn round(self) -> Self {
            F32x4(map(self.0, round_ties_even))
        }
        #[inline(always)]
        pub fn gt(self, o: Self) -> Mask {
            Mask([self.0[0] > o.0[0], self.0[1] > o.0[1], self.0[2] > o.0[2], self.0[3] > o.0[3]])
        }
        #[inline(always)]
        pub fn lt(self, o: Self) -> Mask {
            o.gt(self)
        }
        #[inline(always)]
        pub fn eq(self, o: Self) -> Mask {
            Mask([self.0[0] == o.0[0], self.0[1] == o.0[1], self.0[2] == o.0[2], self.0[3] == o.0[3]])
        }
        #[inline(always)]
        pub fn with_sign_of(self, sign: Self) -> Self {
            F32x4(zip(self.0, sign.0, f32::copysign))
        }
        #[inline(always)]
        pub fn exp2_int(self) -> Self {
            F32x4(map(self.0, |n| f32::from_bits(((n as i32 + 127) as u32) << 23)))
        }
        #[inline(always)]
        pub fn sum(self) -> f32 {
            self.0[0] + self.0[1] + self.0[2] + self.0[3]
        }
        #[inline(always)]
        pub fn max_lane(self) -> f32 {
            self.0[0].max(self.0[1]).max(self.0[2].max(self.0[3]))
        }
        /// The 4x4 transpose of rows `r`: lane j of result i is lane i of `r[j]`.
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            let col = |i: usize| F32x4([r[0].0[i], r[1].0[i], r[2].0[i], r[3].0[i]]);
            [col(0), col(1), col(2), col(3)]
        }
    }


    /// Four i32 lanes (the fallback of the wasm type, same lane semantics).
    #[derive(Clone, Copy)]
    pub struct I32x4([i32; 4]);

    impl I32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            I32x4([0; 4])
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            I32x4([
                self.0[0].wrapping_add(o.0[0]), self.0[1].wrapping_add(o.0[1]),
                self.0[2].wrapping_add(o.0[2]), self.0[3].wrapping_add(o.0[3]),
            ])
        }
        #[inline(always)]
        pub fn to_f32(self) -> F32x4 {
            F32x4([self.0[0] as f32, self.0[1] as f32, self.0[2] as f32, self.0[3] as f32])
        }
        /// # Safety
        /// `w` must point at 16 readable i8, `x` at 16 readable i16.
        #[inline(always)]
        pub unsafe fn dot_i8x16(w: *const i8, x: *const i16) -> Self {
            let mut out = [0i32; 4];
            for (j, o) in out.iter_mut().enumerate() {
                for half in [0usize, 8] {
                    for q in [2 * j, 2 * j + 1] {
                        *o = o.wrapping_add(*w.add(half + q) as i32 * *x.add(half + q) as i32);
                    }
                }
            }
            I32x4(out)
        }
    }

    fn round_ties_even(x: f32) -> f32 {
        let r = x.round();
        if (r - x).abs() == 0.5 && r % 2.0 != 0.0 {
            r - x.signum()
        } else {
            r
        }
    }

    #[derive(Clone, Copy)]
    pub struct Mask([bool; 4]);

    impl Mask {
        #[inline(always)]
        pub fn select(self, a: F32x4, b: F32x4) -> F32x4 {
            let m = self.0;
            F32x4([
                if m[0] { a.0[0] } else { b.0[0] },
                if m[1] { a.0[1] } else { b.0[1] },
                if m[2] { a.0[2] } else { b.0[2] },
                if m[3] { a.0[3] } else { b.0[3] },
            ])
        }
    }
}

pub use imp::{F32x4, I32x4, Mask};
