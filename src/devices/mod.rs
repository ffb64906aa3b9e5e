//! Hardware behind small traits: each device has a real driver and a simulator speaking its wire protocol.
