//! No piece of card text is left in freed memory after a card is read.
//!
//! This binary's allocator looks into every block as it is freed while a read is under way (until
//! the read, which carries the number and name on to the hall node, is dropped), and counts those
//! still holding the card's ID number, name or dates
//! in any of the forms the driver sees them: UCS-2 as on the wire, or UTF-8 once decoded. The
//! reader simulator runs as its own `hallq sim` process, so its buffers are not this process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hallq::devices::idcard::sim::TestCard;
use hallq::devices::idcard::{IdCardReaderConfig, SamReader};

#[allow(dead_code)]
mod device_support;
use device_support::spawn_sim;

static WATCHING: AtomicBool = AtomicBool::new(false);
static PATTERNS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
static LEFT_BEHIND: AtomicUsize = AtomicUsize::new(0);
static LEFT_BEHIND_SIZE: AtomicUsize = AtomicUsize::new(0);

struct Watching;

impl Watching {
    /// Whether the block at `ptr` holds card text. Allocates nothing.
    unsafe fn holds_card_text(ptr: *const u8, size: usize) -> bool {
        if !WATCHING.load(Ordering::SeqCst) || size == 0 {
            return false;
        }
        let Some(patterns) = PATTERNS.get() else {
            return false;
        };
        // SAFETY: the caller passes a live block of `size` bytes; freed blocks handed back by
        // the program were all written before (Rust never reads uninitialised heap either).
        let block = unsafe { std::slice::from_raw_parts(ptr, size) };
        patterns
            .iter()
            .any(|p| block.windows(p.len()).any(|w| w == p.as_slice()))
    }

    fn record(size: usize) {
        LEFT_BEHIND.fetch_add(1, Ordering::SeqCst);
        LEFT_BEHIND_SIZE.store(size, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    // No `realloc` of its own: the default moves every block it grows or shrinks and frees the
    // old one through `dealloc`, the worst case a real allocator may choose at any time.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if unsafe { Self::holds_card_text(ptr, layout.size()) } {
            Self::record(layout.size());
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn reading_a_card_leaves_no_card_text_in_freed_memory() {
    let card = TestCard::resident();
    let birth = card.birth.format("%Y%m%d").to_string();
    let valid_from = card.valid_from.format("%Y%m%d").to_string();
    PATTERNS
        .set(vec![
            ucs2(&card.id_number),
            card.id_number.as_bytes().to_vec(),
            ucs2(&card.chinese_name),
            card.chinese_name.as_bytes().to_vec(),
            ucs2(&birth),
            ucs2(&valid_from),
            valid_from.as_bytes().to_vec(),
        ])
        .expect("patterns are set once");

    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("idcard");
    let sim = spawn_sim(&["idcard", "--pty", "--place", "resident"], &link);
    let config = IdCardReaderConfig {
        port: link.to_string_lossy().into_owned(),
        ..IdCardReaderConfig::default()
    };
    let mut reader = SamReader::open(&config).unwrap();
    assert!(reader.find_card().unwrap());
    reader.select_card().unwrap();

    WATCHING.store(true, Ordering::SeqCst);
    let facts = reader.read_card();
    drop(reader);
    let facts = facts.unwrap();
    assert_eq!(facts.card.masked_name(), "张*三");
    assert_eq!(facts.birth_date, Some(card.birth));
    // The number and name travel on to the hall node inside the read, and are wiped with it.
    assert_eq!(facts.card.id_number(), card.id_number);
    drop(facts);
    WATCHING.store(false, Ordering::SeqCst);
    drop(sim);
    assert_eq!(
        LEFT_BEHIND.load(Ordering::SeqCst),
        0,
        "freed blocks still held card text (the last of {} bytes)",
        LEFT_BEHIND_SIZE.load(Ordering::SeqCst)
    );
}
