//! Ticket merge rules (pure): may ticket B be merged into ticket A, and where do requests for
//! a merged ticket lead.
//!
//! A merge leaves a pointer `B → A` (B's `merged_into`). Pointers form chains when a ticket that
//! absorbed others is merged itself; requests for any ticket of a chain answer with its final
//! ticket. The rules keep the pointers a forest: no merge across tenants, none into itself, none
//! of a ticket already merged, none that would close a loop. Moving messages, events, tags and
//! watchers is the caller's job once [`validate_merge`] has said yes.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{TenantId, TicketId};

/// Existing merges: merged ticket → the ticket it was merged into. Load them tenant-scoped;
/// since merges never cross tenants, every chain stays within one tenant.
pub type MergePointers = BTreeMap<TicketId, TicketId>;

/// Longest chain followed before giving up: real chains are a handful of links long.
pub const MAX_CHAIN: usize = 64;

/// One side of a requested merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeSide {
    pub id: TicketId,
    pub tenant_id: TenantId,
}

/// Why a merge is refused, or a chain cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("tickets of different tenants cannot be merged")]
    CrossTenant,
    #[error("a ticket cannot be merged into itself")]
    IntoItself,
    #[error("ticket {ticket} has already been merged into {into}")]
    AlreadyMerged { ticket: TicketId, into: TicketId },
    #[error("merging {ticket} into {into} would form a loop")]
    Loop { ticket: TicketId, into: TicketId },
    #[error("the merge chain starting at {0} loops back on itself")]
    CyclicChain(TicketId),
    #[error("the merge chain starting at {0} is longer than {MAX_CHAIN} links")]
    ChainTooLong(TicketId),
}

/// An accepted merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// The ticket that is closed and points to `target` afterwards.
    pub source: TicketId,
    /// Where the content moves: the requested target, or the end of its chain if the
    /// requested target had itself been merged.
    pub target: TicketId,
    /// The ticket the request named.
    pub requested_target: TicketId,
}

impl MergePlan {
    /// Whether the request named a ticket that had been merged, so content goes further.
    pub fn redirected(&self) -> bool {
        self.target != self.requested_target
    }
}

/// The chain from `id` to its final ticket: `[id, …, final]`; just `[id]` if it was never
/// merged.
pub fn merge_chain(id: TicketId, pointers: &MergePointers) -> Result<Vec<TicketId>, MergeError> {
    let mut chain = vec![id];
    let mut seen = BTreeSet::from([id]);
    let mut current = id;
    while let Some(&next) = pointers.get(&current) {
        if !seen.insert(next) {
            return Err(MergeError::CyclicChain(id));
        }
        if chain.len() > MAX_CHAIN {
            return Err(MergeError::ChainTooLong(id));
        }
        chain.push(next);
        current = next;
    }
    Ok(chain)
}

/// The ticket that requests for `id` should be answered with.
pub fn resolve_merged(id: TicketId, pointers: &MergePointers) -> Result<TicketId, MergeError> {
    let chain = merge_chain(id, pointers)?;
    Ok(chain.last().copied().unwrap_or(id))
}

/// Checks that `source` may be merged into `target`, given the existing pointers.
pub fn validate_merge(
    source: &MergeSide,
    target: &MergeSide,
    pointers: &MergePointers,
) -> Result<MergePlan, MergeError> {
    if source.tenant_id != target.tenant_id {
        return Err(MergeError::CrossTenant);
    }
    if source.id == target.id {
        return Err(MergeError::IntoItself);
    }
    if let Some(&into) = pointers.get(&source.id) {
        return Err(MergeError::AlreadyMerged {
            ticket: source.id,
            into,
        });
    }
    let chain = merge_chain(target.id, pointers)?;
    if chain.contains(&source.id) {
        return Err(MergeError::Loop {
            ticket: source.id,
            into: target.id,
        });
    }
    let final_target = chain.last().copied().unwrap_or(target.id);
    Ok(MergePlan {
        source: source.id,
        target: final_target,
        requested_target: target.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(n: u128) -> TicketId {
        TicketId::from_parts(1_700_000_000_000, n)
    }

    fn tenant(n: u128) -> TenantId {
        TenantId::from_parts(1_700_000_000_000, n)
    }

    fn side(ticket_n: u128, tenant_n: u128) -> MergeSide {
        MergeSide {
            id: ticket(ticket_n),
            tenant_id: tenant(tenant_n),
        }
    }

    fn pointers(links: &[(u128, u128)]) -> MergePointers {
        links
            .iter()
            .map(|&(from, into)| (ticket(from), ticket(into)))
            .collect()
    }

    #[test]
    fn a_plain_merge_is_accepted() {
        let plan =
            validate_merge(&side(2, 1), &side(1, 1), &MergePointers::new()).expect("accepted");
        assert_eq!(
            plan,
            MergePlan {
                source: ticket(2),
                target: ticket(1),
                requested_target: ticket(1)
            }
        );
        assert!(!plan.redirected());
    }

    #[test]
    fn merges_are_refused_with_a_reason() {
        let existing = pointers(&[(3, 1), (4, 3)]);
        let cases = [
            (
                "across tenants",
                side(2, 1),
                side(1, 2),
                MergeError::CrossTenant,
            ),
            (
                "into itself",
                side(1, 1),
                side(1, 1),
                MergeError::IntoItself,
            ),
            (
                "already merged",
                side(3, 1),
                side(2, 1),
                MergeError::AlreadyMerged {
                    ticket: ticket(3),
                    into: ticket(1),
                },
            ),
            (
                "a loop through the chain",
                side(1, 1),
                side(4, 1),
                MergeError::Loop {
                    ticket: ticket(1),
                    into: ticket(4),
                },
            ),
        ];
        for (name, source, target, expected) in cases {
            assert_eq!(
                validate_merge(&source, &target, &existing),
                Err(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn merging_into_a_merged_ticket_goes_to_the_end_of_its_chain() {
        let existing = pointers(&[(3, 1), (4, 3)]);
        let plan = validate_merge(&side(5, 1), &side(4, 1), &existing).expect("accepted");
        assert_eq!(plan.target, ticket(1));
        assert_eq!(plan.requested_target, ticket(4));
        assert!(plan.redirected());
    }

    #[test]
    fn a_chain_resolves_to_its_final_ticket() {
        let existing = pointers(&[(3, 1), (4, 3), (5, 4)]);
        assert_eq!(resolve_merged(ticket(5), &existing), Ok(ticket(1)));
        assert_eq!(resolve_merged(ticket(1), &existing), Ok(ticket(1)));
        assert_eq!(
            merge_chain(ticket(5), &existing),
            Ok(vec![ticket(5), ticket(4), ticket(3), ticket(1)])
        );
    }

    #[test]
    fn corrupt_pointers_are_reported_instead_of_followed_forever() {
        let cyclic = pointers(&[(1, 2), (2, 3), (3, 1)]);
        assert_eq!(
            resolve_merged(ticket(1), &cyclic),
            Err(MergeError::CyclicChain(ticket(1)))
        );
        assert_eq!(
            validate_merge(&side(9, 1), &side(2, 1), &cyclic),
            Err(MergeError::CyclicChain(ticket(2)))
        );

        let long: Vec<(u128, u128)> = (1..=100).map(|n| (n + 1, n)).collect();
        assert_eq!(
            resolve_merged(ticket(101), &pointers(&long)),
            Err(MergeError::ChainTooLong(ticket(101)))
        );
    }
}
