//! Counting push faults per receiving user: drop, duplicate, reorder.

use std::collections::HashMap;

/// The push faults pending for one user; each applies to that many next pushes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserPushFaults<F> {
    /// Pushes to store but not send.
    pub drop: usize,
    /// Pushes to send twice.
    pub duplicate: usize,
    /// Pushes to hold back until the user's next push has been sent.
    pub reorder: usize,
    /// The held push, if any.
    pub held: Option<F>,
}

impl<F> Default for UserPushFaults<F> {
    fn default() -> Self {
        Self {
            drop: 0,
            duplicate: 0,
            reorder: 0,
            held: None,
        }
    }
}

/// Push faults by user. `F` is the frame type (bytes in the server, numbers in tests).
#[derive(Debug)]
pub(crate) struct PushFaults<F> {
    users: HashMap<String, UserPushFaults<F>>,
}

impl<F> Default for PushFaults<F> {
    fn default() -> Self {
        Self {
            users: HashMap::new(),
        }
    }
}

impl<F: Clone> PushFaults<F> {
    /// The user's entry, created on demand.
    pub(crate) fn user(&mut self, user: &str) -> &mut UserPushFaults<F> {
        self.users.entry(user.to_string()).or_default()
    }

    /// What to send to `user` for this push, in order: `[]` when dropped or held,
    /// `[push, held]` when a held push is released behind it, `[push, push]` when duplicated.
    /// Order of checks: drop, then reorder, then duplicate.
    pub(crate) fn plan(&mut self, user: &str, push: F) -> Vec<F> {
        let Some(f) = self.users.get_mut(user) else {
            return vec![push];
        };
        if f.drop > 0 {
            f.drop -= 1;
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        if let Some(held) = f.held.take() {
            out.push(push);
            out.push(held);
        } else if f.reorder > 0 {
            f.reorder -= 1;
            f.held = Some(push);
            return Vec::new();
        } else {
            out.push(push);
        }
        if f.duplicate > 0 {
            f.duplicate -= 1;
            let first = out[0].clone();
            out.insert(1, first);
        }
        out
    }

    /// Takes the user's held push, if any.
    pub(crate) fn take_held(&mut self, user: &str) -> Option<F> {
        self.users.get_mut(user)?.held.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reorder_and_duplicate_apply_to_the_next_pushes() {
        let mut f = PushFaults::<i32>::default();
        assert_eq!(f.plan("a", 1), vec![1]);
        f.user("a").drop = 2;
        assert_eq!(f.plan("a", 2), Vec::<i32>::new());
        assert_eq!(f.plan("b", 9), vec![9]); // per user
        assert_eq!(f.plan("a", 3), Vec::<i32>::new());
        assert_eq!(f.plan("a", 4), vec![4]);
        f.user("a").reorder = 1;
        assert_eq!(f.plan("a", 5), Vec::<i32>::new());
        assert_eq!(f.plan("a", 6), vec![6, 5]); // the next first, then the held one
        assert_eq!(f.plan("a", 7), vec![7]);
        f.user("a").duplicate = 1;
        assert_eq!(f.plan("a", 8), vec![8, 8]);
        assert_eq!(f.plan("a", 9), vec![9]);
        f.user("a").reorder = 1;
        assert_eq!(f.plan("a", 10), Vec::<i32>::new());
        assert_eq!(f.take_held("a"), Some(10));
        assert_eq!(f.take_held("a"), None);
    }
}
