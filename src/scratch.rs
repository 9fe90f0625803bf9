//! Per-worker spare buffers: the vectors a window's read, features and prediction use
//! (hundreds of kilobytes each at 256 x 256 cells) are given back when the window is done
//! and taken again by the next window on the same thread, so the allocator does not map,
//! fault and zero fresh pages for every window (glibc serves blocks this size with `mmap`
//! or trims them back to the kernel when freed).
//!
//! Each thread keeps at most [`KEEP`] spares per element type. A spare is only handed
//! out for a request of at least half its capacity, so a small request (a single cell)
//! never carries a window-sized buffer away with it.

use std::cell::RefCell;
use std::sync::Mutex;

/// Spares kept per thread and element type.
pub const KEEP: usize = 24;

/// Element types with a per-thread list of spare vectors, and a shared list for buffers
/// freed on another thread than the one that filled them (the map writer's).
pub trait Spare: Sized + Send + 'static {
    /// Runs `f` on this thread's spares of this type.
    fn with_spares<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
    /// Runs `f` on the spares shared between threads.
    fn with_shared<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R;
}

macro_rules! spares {
    ($($t:ty),*) => {$(
        impl Spare for $t {
            fn with_spares<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R {
                thread_local! {
                    static SPARES: RefCell<Vec<Vec<$t>>> = const { RefCell::new(Vec::new()) };
                }
                SPARES.with(|s| f(&mut s.borrow_mut()))
            }
            fn with_shared<R>(f: impl FnOnce(&mut Vec<Vec<Self>>) -> R) -> R {
                static SHARED: Mutex<Vec<Vec<$t>>> = Mutex::new(Vec::new());
                f(&mut SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
            }
        }
    )*};
}

/// The first of `spares` that fits a request of `len` values, taken out of the list.
fn fitting<T>(spares: &mut Vec<Vec<T>>, len: usize) -> Option<Vec<T>> {
    let i = spares.iter().position(|v| v.capacity() >= len && v.capacity() / 2 <= len)?;
    Some(spares.swap_remove(i))
}

spares!(f64, f32, u32, usize, bool);

/// An empty vector with room for `len` values: one of this thread's spares when one fits,
/// else a shared one ([`give_shared`]), else a new one.
pub fn take<T: Spare>(len: usize) -> Vec<T> {
    let spare = T::with_spares(|s| fitting(s, len)).or_else(|| T::with_shared(|s| fitting(s, len)));
    match spare {
        Some(mut v) => {
            v.clear();
            v
        }
        None => Vec::with_capacity(len),
    }
}

/// `len` copies of `value`, in a spare when one fits ([`take`]).
pub fn filled<T: Spare + Clone>(len: usize, value: T) -> Vec<T> {
    let mut v = take(len);
    v.resize(len, value);
    v
}

/// Keeps `v` as a spare of this thread (dropped when the thread already keeps [`KEEP`]).
pub fn give<T: Spare>(v: Vec<T>) {
    if v.capacity() == 0 {
        return;
    }
    T::with_spares(|s| {
        if s.len() < KEEP {
            s.push(v);
        }
    });
}

/// Keeps `v` as a spare any thread may take: for a buffer done with on another thread
/// than the workers that fill them (the writer's predictions).
pub fn give_shared<T: Spare>(v: Vec<T>) {
    if v.capacity() == 0 {
        return;
    }
    T::with_shared(|s| {
        if s.len() < KEEP {
            s.push(v);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_on_the_same_thread_but_not_for_a_small_request() {
        let v: Vec<u32> = filled(10_000, 7);
        let ptr = v.as_ptr();
        give(v);
        let small: Vec<u32> = take(10);
        assert_ne!(small.as_ptr(), ptr, "a window-sized spare went to a 10-value request");
        let again: Vec<u32> = take(9_000);
        assert_eq!(again.as_ptr(), ptr, "the spare was not reused");
        assert!(again.is_empty(), "a taken spare must come back empty");
        give(again);
        let elsewhere = std::thread::spawn(|| {
            let v = take::<u32>(9_000);
            v.as_ptr() as usize
        })
        .join()
        .unwrap();
        assert_ne!(elsewhere, ptr as usize, "another thread took this thread's spare");
    }
}
