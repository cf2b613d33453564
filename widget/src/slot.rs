//! [`Slot`]: the widget's `RefCell`, minus the formatted panic.
//!
//! `RefCell::borrow` and friends panic with a message that formats the error, and that one
//! use links `core::fmt` (about a kilobyte of gzipped wasm). The widget never borrows across
//! a callback or a re-entrant DOM call (see the `app` module), so a conflict is a bug either
//! way; in the browser it traps without the formatting.

use core::cell::{Ref, RefCell, RefMut};

/// A `RefCell` with the same methods, whose borrow conflicts trap.
#[derive(Debug, Default)]
pub struct Slot<T>(RefCell<T>);

impl<T> Slot<T> {
    pub const fn new(value: T) -> Slot<T> {
        Slot(RefCell::new(value))
    }

    pub fn borrow(&self) -> Ref<'_, T> {
        match self.0.try_borrow() {
            Ok(r) => r,
            Err(_) => conflict(),
        }
    }

    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        match self.0.try_borrow_mut() {
            Ok(r) => r,
            Err(_) => conflict(),
        }
    }

    pub fn replace(&self, value: T) -> T {
        core::mem::replace(&mut *self.borrow_mut(), value)
    }

    pub fn take(&self) -> T
    where
        T: Default,
    {
        core::mem::take(&mut *self.borrow_mut())
    }
}

#[cfg(target_arch = "wasm32")]
fn conflict() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn conflict() -> ! {
    panic!("a widget cell was borrowed while borrowed mutably")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_reads_replaces_and_takes_like_a_refcell() {
        let s = Slot::new(String::from("a"));
        assert_eq!(*s.borrow(), "a");
        s.borrow_mut().push('b');
        assert_eq!(s.replace(String::from("c")), "ab");
        assert_eq!(s.take(), "c");
        assert_eq!(*s.borrow(), "");
    }

    #[test]
    #[should_panic]
    fn a_conflicting_borrow_is_refused() {
        let s = Slot::new(1);
        let _reading = s.borrow();
        let _ = s.borrow_mut();
    }
}
