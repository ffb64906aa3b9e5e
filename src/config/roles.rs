//! The parts a board plays in the hall, named on its command line (`--role hall,counter`).

/// A board's part in the hall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeRole {
    /// Owns the engine and the store; serves the LAN.
    Hall,
    Kiosk,
    /// A window terminal: call buttons for `[buttons] window`.
    Counter,
    /// A display wall: voice announcements.
    Display,
}

/// No role named means every role: the demo hall in one process.
pub fn has_role(roles: &[NodeRole], role: NodeRole) -> bool {
    roles.is_empty() || roles.contains(&role)
}

/// Whether this board runs the engine.
pub fn is_hall_node(roles: &[NodeRole]) -> bool {
    has_role(roles, NodeRole::Hall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_role_named_means_every_role() {
        assert!(is_hall_node(&[]));
        assert!(has_role(&[], NodeRole::Display));
        assert!(!is_hall_node(&[NodeRole::Kiosk, NodeRole::Counter]));
        assert!(has_role(&[NodeRole::Kiosk], NodeRole::Kiosk));
        assert!(!has_role(&[NodeRole::Kiosk], NodeRole::Display));
    }
}
