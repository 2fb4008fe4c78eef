//! The module's global allocator: the system allocator under a byte budget.
//!
//! The budget counts the bytes of every live block (tensors, kernel scratch, packing buffers) and
//! refuses a request that would pass the limit the owner set with `lw_set_memory_limit` (none by
//! default: then only the 4 GiB address space limits it). A refused request is an ordinary
//! allocation failure: `lw_alloc` returns 0 and the kernels report it (crate/scratch.rs), so a page
//! can cap its memory, and tests can reach out-of-memory without filling 4 GiB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Budgeted;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIMIT_BYTES: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Bytes in live blocks.
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Sets the budget (`usize::MAX`: none). Blocks already live stay; only new requests are refused.
pub fn set_limit(bytes: usize) {
    LIMIT_BYTES.store(bytes, Ordering::Relaxed);
}

/// Takes `bytes` from the budget, or returns false (and takes nothing) when they do not fit.
fn take(bytes: usize) -> bool {
    let limit = LIMIT_BYTES.load(Ordering::Relaxed);
    LIVE_BYTES
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
            live.checked_add(bytes).filter(|&after| after <= limit)
        })
        .is_ok()
}

fn give_back(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes, Ordering::Relaxed);
}

/// Runs `allocate` for `bytes` taken from the budget; gives them back if it fails.
fn within_budget(bytes: usize, allocate: impl FnOnce() -> *mut u8) -> *mut u8 {
    if !take(bytes) {
        return core::ptr::null_mut();
    }
    let ptr = allocate();
    if ptr.is_null() {
        give_back(bytes);
    }
    ptr
}

unsafe impl GlobalAlloc for Budgeted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        within_budget(layout.size(), || System.alloc(layout))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        within_budget(layout.size(), || System.alloc_zeroed(layout))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        give_back(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !take(new_size - old) {
            return core::ptr::null_mut();
        }
        let out = System.realloc(ptr, layout, new_size);
        if out.is_null() {
            if new_size > old {
                give_back(new_size - old);
            }
        } else if new_size < old {
            give_back(old - new_size);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_refuses_past_the_limit_and_keeps_the_count() {
        // The allocator of the native test binary is the system one; this checks the arithmetic
        // on the shared counters, so it runs as one test.
        let base = live_bytes();
        set_limit(base + 100);
        assert!(take(60));
        assert!(!take(41), "60 + 41 passes a budget of 100");
        assert!(take(40));
        give_back(100);
        assert_eq!(live_bytes(), base);
        set_limit(usize::MAX);
        assert!(take(1));
        assert!(!take(usize::MAX), "overflow is a refusal, not a wrap");
        give_back(1);
        assert_eq!(live_bytes(), base);
    }
}
