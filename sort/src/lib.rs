//! One compiled sort for every element type.
//!
//! `slice::sort_by` and its relatives compile a complete sorting algorithm for each element
//! type and comparison closure they are called with: one to three KB of WebAssembly each, and
//! the domain logic, the handlers, the language models and the search index, with their dozens
//! of call sites, would ship dozens of them (the Worker's bundle counts every one). These functions
//! sort a permutation of indices instead, with a single compiled sort whose comparison calls
//! back through `dyn FnMut`, then swap the elements into place; what remains per call site is
//! the comparison and a swap. Results equal `slice::sort_by`'s (the sort is stable), and a
//! call costs one `Vec<usize>` of the slice's length, which the lists sorted here (rules, queue
//! entries, a page of messages, a query's candidate documents, a tokenizer's terms) do not
//! notice. Where an unstable sort would do, the stable one is used too: any order of equal
//! elements is fine there, and one compiled sort is the point.

use core::cmp::Ordering;

/// Sorts `v` stably by `cmp`, as `v.sort_by(cmp)` does.
pub fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let order = sorted_indices(v.len(), &mut |a, b| cmp(&v[a], &v[b]));
    permute(order, &mut |a, b| v.swap(a, b));
}

/// Sorts `v` stably by the key `key` extracts, as `v.sort_by_key(key)` does.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `v` stably in ascending order, as `v.sort()` does.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The indices `0..n` ordered by `cmp`, stably: the one place a sort is compiled.
#[inline(never)]
fn sorted_indices(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Rearranges a sequence so that position `i` receives the element that was at `order[i]`,
/// following each cycle of the permutation with `swap`.
#[inline(never)]
fn permute(mut order: Vec<usize>, swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut at = start;
        // Position `at` wants the element from `order[at]`; the element that started at
        // `start` travels along the cycle until it reaches the position that wants it.
        while order[at] != start {
            let from = order[at];
            order[at] = at;
            swap(at, from);
            at = from;
        }
        order[at] = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_keys_keep_their_order() {
        let mut v = vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (0, 'e')];
        sort_by_key(&mut v, |p| p.0);
        assert_eq!(v, [(0, 'e'), (1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]);
    }

    #[test]
    fn empty_and_single_element_slices_are_left_alone() {
        let mut empty: Vec<String> = Vec::new();
        sort(&mut empty);
        assert!(empty.is_empty());
        let mut one = vec!["x".to_string()];
        sort(&mut one);
        assert_eq!(one, ["x"]);
    }

    proptest! {
        #[test]
        fn sorting_gives_what_the_standard_stable_sort_gives(
            v in proptest::collection::vec((0u8..6, any::<u16>()), 0..200)
        ) {
            let mut ours = v.clone();
            sort_by(&mut ours, |a, b| b.0.cmp(&a.0));
            let mut std_sorted = v.clone();
            std_sorted.sort_by(|a, b| b.0.cmp(&a.0));
            prop_assert_eq!(&ours, &std_sorted);

            let mut ours = v.clone();
            sort(&mut ours);
            let mut std_sorted = v;
            std_sorted.sort();
            prop_assert_eq!(ours, std_sorted);
        }
    }
}
