//! Counting pull faults per user, applied to the next 1002 / 1005 requests in order.

use std::collections::{HashMap, VecDeque};

/// What happens to one pull request (1002 or 1005) of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullFault {
    /// Answer this errCode (errMsg the OpenIM name) with `data: null`; the connection stays.
    Fail(i32),
    /// Never answer; the connection stays.
    Hang,
    /// Write the first half of the reply frame, then close the TCP connection.
    CloseMidReply,
}

/// Pending pull faults by user.
#[derive(Debug, Default)]
pub(crate) struct PullFaults {
    users: HashMap<String, VecDeque<PullFault>>,
}

impl PullFaults {
    /// Queues `n` copies of `fault` for the user's next pulls.
    pub(crate) fn push(&mut self, user: &str, fault: PullFault, n: usize) {
        let q = self.users.entry(user.to_string()).or_default();
        q.extend(std::iter::repeat_n(fault, n));
    }

    /// The fault for the user's next pull, if any (consumed).
    pub(crate) fn take(&mut self, user: &str) -> Option<PullFault> {
        self.users.get_mut(user)?.pop_front()
    }

    /// Forgets every pending pull fault of the user.
    pub(crate) fn clear(&mut self, user: &str) {
        self.users.remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_per_user() {
        let mut f = PullFaults::default();
        f.push("a", PullFault::Fail(500), 1);
        f.push("a", PullFault::Hang, 2);
        assert_eq!(f.take("b"), None);
        assert_eq!(f.take("a"), Some(PullFault::Fail(500)));
        assert_eq!(f.take("a"), Some(PullFault::Hang));
        assert_eq!(f.take("a"), Some(PullFault::Hang));
        assert_eq!(f.take("a"), None);
        f.push("a", PullFault::CloseMidReply, 1);
        f.clear("a");
        assert_eq!(f.take("a"), None);
    }
}
