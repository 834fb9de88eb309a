//! Groups: members, creation, joining and leaving (which freezes the leaver's cap).

use std::collections::{BTreeSet, HashMap};

use super::{ids, MessageStore};

/// One group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Group {
    /// Group name.
    pub name: String,
    /// Owner user ID.
    pub owner: String,
    /// Current members (the owner included).
    pub members: BTreeSet<String>,
    /// Creation time, Unix ms.
    pub create_time: i64,
}

/// Every group by ID.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    map: HashMap<String, Group>,
}

impl Groups {
    /// The group, if it exists.
    pub(crate) fn get(&self, group_id: &str) -> Option<&Group> {
        self.map.get(group_id)
    }
}

/// Why a group operation was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupError {
    /// The group ID is taken.
    Exists,
    /// No such group.
    NotFound,
    /// The user is not a member.
    NotMember,
}

impl MessageStore {
    /// Creates a group with `members` (the owner is added); each member gets a record of its
    /// `sg_` conversation.
    pub(crate) fn create_group(
        &mut self,
        group_id: &str,
        name: &str,
        owner: &str,
        members: &[String],
        now_ms: i64,
    ) -> Result<(), GroupError> {
        if self.groups.map.contains_key(group_id) {
            return Err(GroupError::Exists);
        }
        let mut set: BTreeSet<String> = members.iter().cloned().collect();
        if !owner.is_empty() {
            set.insert(owner.to_string());
        }
        let conv = ids::group(group_id);
        for m in &set {
            self.add_record(m, &conv);
        }
        self.groups.map.insert(
            group_id.to_string(),
            Group {
                name: name.to_string(),
                owner: owner.to_string(),
                members: set,
                create_time: now_ms,
            },
        );
        Ok(())
    }

    /// Adds members; a returning member's cap is lifted.
    pub(crate) fn join_group(
        &mut self,
        group_id: &str,
        users: &[String],
    ) -> Result<(), GroupError> {
        if !self.groups.map.contains_key(group_id) {
            return Err(GroupError::NotFound);
        }
        let conv = ids::group(group_id);
        for u in users {
            self.add_record(u, &conv);
            self.set_user_cap(u, &conv, 0);
            if let Some(g) = self.groups.map.get_mut(group_id) {
                g.members.insert(u.clone());
            }
        }
        Ok(())
    }

    /// Removes `user` from the group (quit or kick): its record stays, its cap is frozen at
    /// the group's current max seq. Returns the cap.
    pub(crate) fn leave_group(&mut self, group_id: &str, user: &str) -> Result<i64, GroupError> {
        let group = self
            .groups
            .map
            .get_mut(group_id)
            .ok_or(GroupError::NotFound)?;
        if !group.members.remove(user) {
            return Err(GroupError::NotMember);
        }
        let conv = ids::group(group_id);
        let cap = self.max_seq(&conv);
        // Like the real server: a group left before its first message gets cap 0, which
        // means "no cap".
        self.set_user_cap(user, &conv, cap);
        Ok(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::pb::MsgData;

    #[test]
    fn leaving_freezes_the_cap_and_keeps_the_record() {
        let mut s = MessageStore::default();
        let members = vec!["b".to_string(), "c".to_string()];
        s.create_group("g1", "G", "a", &members, 0).unwrap();
        assert_eq!(
            s.create_group("g1", "G", "a", &[], 0),
            Err(GroupError::Exists)
        );
        assert!(s.groups.get("g1").unwrap().members.contains("a"));
        for _ in 0..3 {
            s.append("sg_g1", &mut MsgData::default());
        }
        assert_eq!(s.leave_group("g1", "c"), Ok(3));
        assert_eq!(s.leave_group("g1", "c"), Err(GroupError::NotMember));
        s.append("sg_g1", &mut MsgData::default());
        assert_eq!(s.user_seq("c", "sg_g1").cap, 3);
        assert!(s.has_record("c", "sg_g1"));
        assert!(!s.groups.get("g1").unwrap().members.contains("c"));
        s.join_group("g1", &["c".to_string()]).unwrap();
        assert_eq!(s.user_seq("c", "sg_g1").cap, 0);
    }
}
