//! The second-generation ID-card reader: SAM serial frames, card text layouts, a polling reader
//! and a simulator. Only [`CardFacts`] leave this module; the ID number and photo never do.
