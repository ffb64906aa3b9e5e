//! What may be derived from an ID number and a name on the card: the check character that proves a
//! number well formed, and the masked name staff and screens are shown.

use zeroize::Zeroizing;

/// The longest masked name taken: above the longest name a card holds (the foreign resident
/// card's English name).
pub const MAX_MASKED_NAME_CHARS: usize = 128;

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number.
pub fn id_check_character(first17: &[u8]) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

/// 张三 → 张*, 张小三 → 张*三; Latin names keep each word's first letter (ZHANG SAN → Z**** S**).
pub fn mask_name(name: &str) -> String {
    let chars: Zeroizing<Vec<char>> = Zeroizing::new(name.chars().collect());
    if chars.iter().any(char::is_ascii_alphabetic) {
        return name
            .split_whitespace()
            .map(|word| {
                word.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i == 0 || !c.is_alphanumeric() {
                            c
                        } else {
                            '*'
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张小三"), "张*三");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name("ZHANG SAN"), "Z**** S**");
        assert_eq!(mask_name("O'BRIEN, ANN"), "O'*****, A**");
    }

    #[test]
    fn the_check_character_follows_iso_7064_mod_11_2() {
        // GB 11643-1999's worked example.
        assert_eq!(id_check_character(b"11010519491231002"), Some('X'));
        assert_eq!(id_check_character(b"44052418800101001"), Some('4'));
        assert_eq!(id_check_character(b"1101051949123100"), None, "16 digits");
        assert_eq!(id_check_character(b"1101051949123100A"), None, "a letter");
    }
}
