//! Embedding lookup: forward gathers rows of a table, backward scatter-adds into them.
//! table, dtable (V,C); ids (R) int32; out, dout (R,C).

/// `out[r,:] = table[ids[r],:]`. Ids must be in [0, V) (checked by the caller; out of range panics).
pub fn embedding_forward(out: &mut [f32], table: &[f32], ids: &[i32], c: usize) {
    for (o, &id) in out.chunks_exact_mut(c.max(1)).zip(ids) {
        let id = id as usize;
        o.copy_from_slice(&table[id * c..(id + 1) * c]);
    }
}

/// `dtable[ids[r],:] += dout[r,:]` for every r with `ids[r] != padding_idx` (pass -1 for no
/// padding). ACCUMULATES; a repeated id receives the sum of its rows, in row order.
pub fn embedding_backward(dtable: &mut [f32], dout: &[f32], ids: &[i32], c: usize, padding_idx: i32) {
    for (g, &id) in dout.chunks_exact(c.max(1)).zip(ids) {
        if id == padding_idx {
            continue;
        }
        let id = id as usize;
        let d = &mut dtable[id * c..(id + 1) * c];
        let p = d.as_mut_ptr();
        // SAFETY: `d` and `g` both have length c; `d` is updated in place.
        unsafe {
            crate::ops::elementwise::map2(p, p, g.as_ptr(), c, |x, y| x.add(y), |x, y| x + y);
        }
    }
}

/// Index-by-index references.
pub mod naive {
    pub fn embedding_forward(out: &mut [f32], table: &[f32], ids: &[i32], c: usize) {
        for r in 0..ids.len() {
            for j in 0..c {
                out[r * c + j] = table[ids[r] as usize * c + j];
            }
        }
    }
    pub fn embedding_backward(dtable: &mut [f32], dout: &[f32], ids: &[i32], c: usize, padding_idx: i32) {
        for r in 0..ids.len() {
            if ids[r] != padding_idx {
                for j in 0..c {
                    dtable[ids[r] as usize * c + j] += dout[r * c + j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testutil::{rand_vec, SIZES};

    #[test]
    fn gather_and_scatter_add_match_naive() {
        let v = 5;
        // Repeated ids (2 and 4 several times) and the padding id 0.
        let ids = [2, 0, 4, 2, 1, 4, 2];
        for &c in &SIZES {
            let table = rand_vec(v * c, 51, -1.0, 1.0);
            let rows = ids.len();
            let mut want = vec![0.0; rows * c];
            naive::embedding_forward(&mut want, &table, &ids, c);
            let mut out = vec![f32::NAN; rows * c];
            embedding_forward(&mut out, &table, &ids, c);
            assert_eq!(out, want, "forward c={c}");

            let dout = rand_vec(rows * c, 52, -1.0, 1.0);
            let d0 = rand_vec(v * c, 53, -1.0, 1.0);
            for &pad in &[-1, 0, 4] {
                let (mut dw, mut dt) = (d0.clone(), d0.clone());
                naive::embedding_backward(&mut dw, &dout, &ids, c, pad);
                embedding_backward(&mut dt, &dout, &ids, c, pad);
                assert_eq!(dt, dw, "backward c={c} padding_idx={pad}");
                if pad >= 0 {
                    let p = pad as usize;
                    assert_eq!(&dt[p * c..(p + 1) * c], &d0[p * c..(p + 1) * c], "padding row untouched");
                }
            }
        }
    }

    #[test]
    fn repeated_id_sums_its_rows() {
        let mut dtable = vec![0.0f32; 2 * 3];
        embedding_backward(&mut dtable, &[1.0, 2.0, 3.0, 10.0, 20.0, 30.0], &[1, 1], 3, -1);
        assert_eq!(dtable, [0.0, 0.0, 0.0, 11.0, 22.0, 33.0]);
    }
}
